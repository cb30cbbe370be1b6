"""Property-based fuzzing of the ONNX pair loader (ae_core/onnx_model.py), as tests/test_fuzz.py
fuzzes the checkpoint loader: random bytes, valid files cut or changed, zips of anything, and
huge declared dimensions give OnnxModelError (one line) or a model, within a time bound."""

from __future__ import annotations

import io
import zipfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper

from ae_core.checkpoint import Checkpoint
from ae_core.onnx_model import OnnxModelError, load_onnx_pair, load_onnx_zip
from tests.test_fuzz import MEMORY_GROWTH_LIMIT_MB, peak_rss_mb
from tests.test_onnx_model import linear_decoder, linear_encoder

FUZZ = settings(max_examples=300, deadline=10_000, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def pair() -> tuple[bytes, bytes]:
    return linear_encoder(), linear_decoder()


@pytest.fixture(scope="module", autouse=True)
def memory_stays_bounded():
    before = peak_rss_mb()
    yield
    assert peak_rss_mb() - before < MEMORY_GROWTH_LIMIT_MB


def loads_or_refuses(encoder: bytes, decoder: bytes) -> None:
    try:
        assert isinstance(load_onnx_pair(encoder, decoder, "fuzzed"), Checkpoint)
    except OnnxModelError as error:
        assert "\n" not in str(error)


@FUZZ
@given(st.binary(max_size=4096))
def test_any_bytes(pair, data):
    loads_or_refuses(data, pair[1])
    loads_or_refuses(pair[0], data)


@FUZZ
@given(st.data())
def test_a_valid_file_with_bytes_changed_or_cut(pair, data):
    which = data.draw(st.sampled_from([0, 1]))
    valid = pair[which]
    position = data.draw(st.integers(0, len(valid) - 1))
    if data.draw(st.booleans()):
        changed = valid[:position]  # a truncated protobuf
    else:
        new = data.draw(st.binary(min_size=1, max_size=8))
        changed = valid[:position] + new + valid[position + len(new):]
    loads_or_refuses(*((changed, pair[1]) if which == 0 else (pair[0], changed)))


DIMS = st.lists(st.one_of(st.integers(0, 2**62), st.sampled_from(["N", ""])), max_size=5)


@FUZZ
@given(DIMS, DIMS, DIMS)
def test_huge_or_odd_declared_dimensions(pair, encoder_in, encoder_out, decoder_in):
    """Whatever the graph declares, nothing is allocated from it: refused or run on real
    shapes (onnxruntime checks the declared ones against what it is fed)."""
    def value(name: str, dims: list) -> object:
        return helper.make_tensor_value_info(name, TensorProto.FLOAT,
                                             [dim if dim != "" else None for dim in dims])

    loads_or_refuses(linear_encoder(input=value("x", encoder_in),
                                    output=value("z", encoder_out)),
                     linear_decoder(input=value("z", decoder_in)))


@FUZZ
@given(st.dictionaries(st.sampled_from(["encoder.onnx", "decoder.onnx", "model.json", "x.onnx",
                                        "a/b.json"]),
                       st.binary(max_size=512), max_size=4),
       st.booleans())
def test_zips_of_anything(pair, files, valid_onnx):
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as writing:
        for name, data in files.items():
            if valid_onnx and name == "encoder.onnx":
                data = pair[0]
            writing.writestr(name, data)
    try:
        assert isinstance(load_onnx_zip(archive.getvalue(), "fuzzed.zip"), Checkpoint)
    except OnnxModelError as error:
        assert "\n" not in str(error)
