"""A model's decoder as ONNX bytes, so a browser can decode codes while a slider is dragged.

The graph takes `code` (B, D) float32, and `label` (B,) int64 for a conditional family, and
returns `image` (B, 1, 28, 28) in [0, 1]: exactly `model.decode`, sigmoid included.
"""

from __future__ import annotations

import io
import threading
import time
import warnings

import torch
from torch import nn

from ae_core.models.base import Autoencoder
from ae_core.onnx_model import OnnxAutoencoder

OPSET = 17


class ExportError(RuntimeError):
    """The decoder could not be written as ONNX; the message says why in one line."""


class _Decoder(nn.Module):
    """`model.decode` with the label as a positional input, as ONNX wants."""

    def __init__(self, model: Autoencoder) -> None:
        super().__init__()
        self.model = model

    def forward(self, code: torch.Tensor, label: torch.Tensor | None = None) -> torch.Tensor:
        return self.model.decode(code, label)


# The TorchScript exporter keeps process-wide state (it asserts it is not already exporting):
# two sessions, or a session and the warm-up, exporting at once would fail one of them.
_ONE_AT_A_TIME = threading.Lock()


def decoder_onnx(model: Autoencoder) -> bytes:
    """The decoder of `model` (any family) as an ONNX model, batch size free; float32 on the CPU.

    The TorchScript exporter (`dynamo=False`) is used: the dynamo one fixes the batch size and
    fails on the conditional VAE's data-dependent label check.
    """
    if isinstance(model, OnnxAutoencoder):  # a pair's decoder is ONNX already
        if model.decoder_net.batch not in (None, 1):
            raise ExportError(f"this decoder's batch is fixed at {model.decoder_net.batch}; "
                              f"the browser decodes one code at a time")
        return model.browser_decoder_onnx()
    decoder = _Decoder(_float_cpu_copy(model)).eval()
    code = torch.zeros(1, model.latent_dim)
    inputs: tuple[torch.Tensor, ...] = (code,)
    names = ["code"]
    if model.is_conditional:
        inputs, names = (code, torch.zeros(1, dtype=torch.long)), ["code", "label"]
    buffer = io.BytesIO()
    try:
        with _ONE_AT_A_TIME, warnings.catch_warnings(), torch.inference_mode():
            warnings.simplefilter("ignore")  # the exporter's deprecation and tracer notes
            torch.onnx.export(decoder, inputs, buffer, dynamo=False, opset_version=OPSET,
                              input_names=names, output_names=["image"],
                              dynamic_axes={name: {0: "batch"} for name in [*names, "image"]})
    except Exception as error:  # noqa: BLE001 - any exporter failure means: no browser decoder
        message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ExportError(f"the {model.config.family} decoder could not be exported to ONNX: "
                          f"{message}") from error
    return buffer.getvalue()


def warm_up_export() -> float:
    """Export a small decoder once, so the process's first real export does not pay for the
    exporter's imports and first trace (3.2 s against 0.24 s for the second, ae_32); returns
    the seconds it took. Call it from a daemon thread."""
    from ae_core.config import ModelConfig
    from ae_core.models import build_model

    started = time.perf_counter()
    decoder_onnx(build_model(ModelConfig(family="ae", latent_dim=2, hidden_sizes=(8,))))
    return time.perf_counter() - started


def _float_cpu_copy(model: Autoencoder) -> Autoencoder:
    """A float32 CPU copy: shipped weights are float16 and the model may sit on a GPU."""
    import copy

    return copy.deepcopy(model).float().cpu()
