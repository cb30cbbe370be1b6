"""Property-based fuzzing of what reads a stranger's bytes (issue 12): the checkpoint loader
(safetensors header and Latent Lab metadata) and the idx reader. Any input gives the project's
own error or a valid result, within a time bound (hypothesis's deadline) and a memory bound."""

from __future__ import annotations

import gzip
import json
import resource
import struct
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from safetensors.torch import save as safetensors_bytes

from ae_core.checkpoint import Checkpoint, CheckpointError, load_checkpoint_bytes, save_checkpoint
from ae_core.config import ModelConfig
from ae_core.data import IMAGES_MAGIC, LABELS_MAGIC, MAX_IDX_BYTES, DataError, read_idx
from ae_core.models import build_model

FUZZ = settings(max_examples=1500, deadline=2000, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
MEMORY_GROWTH_LIMIT_MB = 1024


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@pytest.fixture(scope="module")
def valid_file(tmp_path_factory) -> bytes:
    torch.manual_seed(0)
    model = build_model(ModelConfig(latent_dim=2, hidden_sizes=(8,)))
    path = save_checkpoint(tmp_path_factory.mktemp("fuzz") / "m.safetensors", model)
    return path.read_bytes()


@pytest.fixture(scope="module", autouse=True)
def memory_stays_bounded():
    before = peak_rss_mb()
    yield
    assert peak_rss_mb() - before < MEMORY_GROWTH_LIMIT_MB


def loads_or_refuses(data: bytes) -> None:
    try:
        assert isinstance(load_checkpoint_bytes(data, "fuzzed.safetensors"), Checkpoint)
    except CheckpointError as error:
        assert "\n" not in str(error)


@FUZZ
@given(st.binary(max_size=4096))
def test_any_bytes(data):
    loads_or_refuses(data)


@FUZZ
@given(st.data())
def test_a_valid_file_with_bytes_changed_or_cut(valid_file, data):
    position = data.draw(st.integers(0, len(valid_file) - 1))
    if data.draw(st.booleans()):
        loads_or_refuses(valid_file[:position])
    else:
        new = data.draw(st.binary(min_size=1, max_size=8))
        loads_or_refuses(valid_file[:position] + new + valid_file[position + len(new):])


JSON = st.recursive(st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats()
                    | st.text(max_size=12),
                    lambda inner: st.lists(inner, max_size=4)
                    | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=10)
CONFIG_FIELDS = ["family", "latent_dim", "hidden_sizes", "conv_channels", "codebook_size",
                 "num_classes", "beta", "recon_loss", "prior"]


@FUZZ
@given(st.data())
def test_metadata_of_any_shape(valid_file, data):
    header_length = struct.unpack("<Q", valid_file[:8])[0]
    header = json.loads(valid_file[8:8 + header_length])
    metadata = header["__metadata__"]
    field = data.draw(st.sampled_from(["model_config", "train_config", "metrics", "info",
                                       "format", "format_version"]))
    if field == "model_config" and data.draw(st.booleans()):
        config = json.loads(metadata["model_config"])
        config[data.draw(st.sampled_from(CONFIG_FIELDS))] = data.draw(JSON)
        metadata[field] = json.dumps(config)
    else:
        metadata[field] = json.dumps(data.draw(JSON)) if data.draw(st.booleans()) \
            else data.draw(st.text(max_size=40))
    tensors = {"weight": torch.zeros(2, 2)}
    loads_or_refuses(safetensors_bytes(tensors, metadata=metadata))  # shapes never match: refused
    body = json.dumps(header).encode()
    loads_or_refuses(struct.pack("<Q", len(body)) + body + valid_file[8 + header_length:])


@FUZZ
@given(magic=st.sampled_from([IMAGES_MAGIC, LABELS_MAGIC]), data=st.binary(max_size=2048),
       shape=st.lists(st.integers(0, 2**32 - 1), max_size=4), packed=st.booleans())
def test_idx_files(tmp_path, magic, data, shape, packed):
    raw = struct.pack(">I", magic if data[:1] != b"\x00" else len(shape) | 0x800)
    raw += b"".join(struct.pack(">I", size) for size in shape) + data
    path = tmp_path / "fuzzed-idx"
    path.write_bytes(gzip.compress(raw) if packed else raw)
    try:
        array = read_idx(path, magic)
        assert array.dtype.name == "uint8"
    except DataError as error:
        assert "\n" not in str(error)


def test_a_gzip_bomb_is_refused_without_unpacking_it(tmp_path):
    """1.5 GB of zeros in 1.5 MB of gzip: read in a fresh process, whose peak memory is its own."""
    bomb = tmp_path / "bomb-idx3-ubyte.gz"
    with gzip.open(bomb, "wb", compresslevel=9) as packed:
        packed.write(struct.pack(">IIII", IMAGES_MAGIC, 2_000_000, 28, 28))
        chunk = bytes(16 * 1024 * 1024)
        for _ in range(96):
            packed.write(chunk)
    script = ("import resource, sys; from pathlib import Path; "
              "from ae_core.data import read_idx, DataError, IMAGES_MAGIC\n"
              "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
              "try:\n    read_idx(Path(sys.argv[1]), IMAGES_MAGIC)\n"
              "except DataError as error:\n    print(error)\n"
              "print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024)")
    done = subprocess.run([sys.executable, "-c", script, str(bomb)], capture_output=True,
                          text=True, timeout=120, cwd=Path(__file__).resolve().parents[1])
    message, grown_mb = done.stdout.strip().splitlines()
    assert "too large for an idx file" in message
    assert int(grown_mb) < 2 * MAX_IDX_BYTES // 2**20  # the bound, not the 1.5 GB it claims
