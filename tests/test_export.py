"""The decoder as ONNX (what the browser runs): the same pixels as `model.decode`, every family,
any batch size, and a one-line error when a decoder cannot be exported."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
import torch

from ae_core.checkpoint import load_checkpoint
from ae_core.config import ModelConfig
from ae_core.export import ExportError, decoder_onnx
from ae_core.models import REGISTRY, build_model
from tests.conftest import family_config

ort = pytest.importorskip("onnxruntime", reason="onnxruntime is a dev dependency")
PROJECT_ROOT = Path(__file__).resolve().parents[1]
SHIPPED = sorted((PROJECT_ROOT / "checkpoints").glob("*.safetensors"))


def run_onnx(model_bytes: bytes, codes: torch.Tensor, labels: torch.Tensor | None) -> np.ndarray:
    session = ort.InferenceSession(model_bytes, providers=["CPUExecutionProvider"])
    feeds = {"code": codes.numpy()}
    if labels is not None:
        feeds["label"] = labels.numpy()
    return session.run(["image"], feeds)[0]


def assert_same_decoder(model, batch: int = 5) -> None:
    model = model.eval()
    torch.manual_seed(1)
    codes = torch.randn(batch, model.latent_dim) * 2
    labels = torch.arange(batch) % model.config.num_classes if model.is_conditional else None
    with torch.inference_mode():
        expected = model.decode(codes, labels).numpy()
    actual = run_onnx(decoder_onnx(model), codes, labels)
    assert actual.shape == (batch, 1, 28, 28)
    np.testing.assert_allclose(actual, expected, atol=1e-5, rtol=0)


@pytest.mark.parametrize("family", sorted(REGISTRY))
def test_every_family_exports_the_same_decoder(family):
    torch.manual_seed(0)
    model = build_model(family_config(family, latent_dim=3, hidden_sizes=(32,),
                                      conv_channels=(4, 8), codebook_size=8))
    assert_same_decoder(model, batch=5)
    assert_same_decoder(model, batch=1)  # the batch size is not fixed by the export


@pytest.mark.parametrize("path", SHIPPED, ids=[path.stem for path in SHIPPED])
def test_every_shipped_decoder_exports_the_same_pixels(path):
    assert_same_decoder(load_checkpoint(path).model)


def test_a_conditional_decoder_draws_the_class_it_is_given():
    torch.manual_seed(0)
    model = build_model(ModelConfig(family="cvae", latent_dim=2, hidden_sizes=(32,))).eval()
    code = torch.zeros(2, 2)
    images = run_onnx(decoder_onnx(model), code, torch.tensor([1, 7]))
    assert not np.allclose(images[0], images[1])  # same code, other class, other picture


def test_a_decoder_that_cannot_be_exported_says_why_in_one_line(monkeypatch):
    model = build_model(ModelConfig(latent_dim=3, hidden_sizes=(32,)))

    def no_decoder(z, labels=None):
        raise RuntimeError("no decoder here\nsecond line")

    monkeypatch.setattr(model, "decode", no_decoder)
    with pytest.raises(ExportError, match=r"^the ae decoder could not be exported to ONNX: "
                                          r"no decoder here$"):
        decoder_onnx(model)


def test_sessions_exporting_at_once_all_get_their_decoder():
    """Two pages (or a page and the start-up warm-up) export at the same moment: the
    exporter's process-wide state failed all four of these before exports took turns."""
    models = [load_checkpoint(PROJECT_ROOT / "checkpoints" / f"{name}.safetensors").model
              for name in ("ae_32", "vae_2", "conv_ae_32", "vae_20")]
    results: dict[int, object] = {}

    def export(index: int) -> None:
        try:
            results[index] = decoder_onnx(models[index])
        except ExportError as error:
            results[index] = error

    threads = [threading.Thread(target=export, args=(index,)) for index in range(len(models))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(isinstance(result, bytes) for result in results.values()), results
    assert len(results) == len(models)

