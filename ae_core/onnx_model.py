"""Your own autoencoder as two ONNX files (an encoder and a decoder), checked like a stranger's
file, run with onnxruntime on the CPU and wrapped in the model interface, so every page that
needs only encode and decode shows it like a shipped model.

A pair is refused in one line (OnnxModelError) before anything of it runs when a file is over
the upload limit, is not ONNX or fails the ONNX checker, names tensors stored as external data
(files by path: never read), uses an operator outside the standard ONNX domain, an opset the
browser's onnxruntime-web does not run, or shapes that don't fit; then a probe batch of real
digits must run within PROBE_SECONDS and give finite numbers.

Shapes: encoder (N, 1, 28, 28) or (N, 784) floats in [0, 1] -> a code (N, D), D <= MAX_LATENT,
or two outputs read as a Gaussian posterior's mean and log-variance (then it is a VAE);
decoder (N, D) -> (N, 1, 28, 28) or (N, 784), probabilities or logits. A batch dimension
fixed at K is run K images at a time (padded), at the cost the probe measures.
"""

from __future__ import annotations

import functools
import io
import json
import math
import os
import tempfile
import threading
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ae_core.checkpoint import MAX_CHECKPOINT_BYTES, Checkpoint
from ae_core.config import IMAGE_SHAPE, INPUT_SIZE, TrainConfig
from ae_core.errors import OneLineError
from ae_core.kinds import KINDS
from ae_core.models.base import Autoencoder, ForwardOutput, reconstruction_loss
from ae_core.models.posterior import DiagonalGaussian

ONNX_FAMILY = "Your ONNX model"  # what the pages show where a family's name goes
MAX_ONNX_BYTES = MAX_CHECKPOINT_BYTES  # per file and for a whole .zip: the app's upload limit
# onnxruntime-web 1.30 (static/ort) runs the standard domain up to opset 21 and more; 7 is the
# oldest onnxruntime reads. ae_core/export.py writes opset 17, torch.onnx.export 20 by default.
MIN_OPSET, MAX_OPSET = 7, 21
STANDARD_DOMAINS = ("", "ai.onnx")
MAX_LATENT = 1024
PROBE_IMAGES = 64  # real digits encoded and decoded before a pair is accepted
PROBE_SECONDS = 5.0  # the probe is stopped (and the pair refused) past this
RUN_IMAGES = 1000  # images per onnxruntime call when the batch is free (bounds the memory)
PAIR_SUFFIX = ".onnx.zip"  # a kept pair: encoder.onnx, decoder.onnx and model.json in one zip
ENCODER_FILE, DECODER_FILE, META_FILE = "encoder.onnx", "decoder.onnx", "model.json"
MAX_META_BYTES = 64 * 1024
DECODER_OUTPUTS = ("probabilities", "logits")
# The kind of images a pair is for -> the TrainConfig.dataset pages read it from.
META_KEYS = ("name", "kind", "decoder_outputs")
_PROBABILITY_SLACK = 1e-3  # a probabilities decoder may overshoot [0, 1] by float noise


class OnnxModelError(OneLineError):
    """An ONNX pair was refused; the message says which file and why, in one line."""


@dataclass(frozen=True)
class OnnxModelConfig:
    """What pages read from a model's config, for a pair: no family settings to read."""

    latent_dim: int
    family: str = ONNX_FAMILY
    recon_loss: str = "bce"  # its error is scored like the shipped models' (sum of BCE)
    settings: tuple = ()
    beta: float = 1.0  # a pair's own KL weight is unknown: its ELBO is read with beta 1

    def to_dict(self) -> dict[str, Any]:
        return {"family": self.family, "latent_dim": self.latent_dim}


# --- the checks on a file, before anything of it runs --------------------------------------


def _parse(data: bytes, source: str):
    import onnx
    from google.protobuf.message import DecodeError

    if len(data) > MAX_ONNX_BYTES:
        raise OnnxModelError(f"{source}: {len(data):,} bytes is over the "
                             f"{MAX_ONNX_BYTES // 2**20} MB limit")
    if not data:
        raise OnnxModelError(f"{source}: the file is empty")
    model = onnx.ModelProto()
    try:  # parsing reads only these bytes: external data is named, never loaded, here
        model.ParseFromString(data)
    except (DecodeError, ValueError, RuntimeError) as error:
        raise OnnxModelError(f"{source}: not an ONNX file ({error})") from None
    if not model.HasField("graph") or not model.graph.node:
        raise OnnxModelError(f"{source}: not an ONNX model (no graph)")
    return model


def _graphs(graph):
    """`graph` and every subgraph inside its nodes' attributes (If, Loop, Scan)."""
    yield graph
    for node in graph.node:
        for attribute in node.attribute:
            for inner in [attribute.g] if attribute.HasField("g") else []:
                yield from _graphs(inner)
            for inner in attribute.graphs:
                yield from _graphs(inner)


def _tensors(graph):
    """Every stored tensor of `graph`: initializers and node attributes' constants."""
    yield from graph.initializer
    for sparse in graph.sparse_initializer:
        yield sparse.values
        yield sparse.indices
    for node in graph.node:
        for attribute in node.attribute:
            if attribute.HasField("t"):
                yield attribute.t
            yield from attribute.tensors
            if attribute.HasField("sparse_tensor"):
                yield attribute.sparse_tensor.values
                yield attribute.sparse_tensor.indices


def _check_file(model, source: str) -> None:
    """External data, domains, custom operators, opset, then the ONNX checker: in that order,
    so the checker never meets a path to another file."""
    import onnx

    graphs = list(_graphs(model.graph))
    for graph in graphs:
        for tensor in _tensors(graph):
            if (tensor.data_location == onnx.TensorProto.EXTERNAL or tensor.external_data):
                raise OnnxModelError(f"{source}: tensor {tensor.name!r} is stored as external "
                                     f"data (in another file); save the model with its "
                                     f"weights inside")
    if model.functions:
        raise OnnxModelError(f"{source}: it defines its own functions "
                             f"({model.functions[0].domain}.{model.functions[0].name}); only "
                             f"standard ONNX operators are run here")
    opsets = {entry.domain: entry.version for entry in model.opset_import}
    for domain in opsets:
        if domain not in STANDARD_DOMAINS:
            raise OnnxModelError(f"{source}: operators of domain {domain!r} are not standard "
                                 f"ONNX; only the standard domain is run here")
    opset = opsets.get("", opsets.get("ai.onnx"))
    if opset is None:
        raise OnnxModelError(f"{source}: it imports no standard ONNX opset")
    if not MIN_OPSET <= opset <= MAX_OPSET:
        raise OnnxModelError(f"{source}: opset {opset} is outside {MIN_OPSET}..{MAX_OPSET}, "
                             f"what the browser's onnxruntime-web runs; export with "
                             f"opset_version={min(max(opset, MIN_OPSET), MAX_OPSET)}")
    for graph in graphs:
        for node in graph.node:
            if node.domain not in STANDARD_DOMAINS:
                raise OnnxModelError(f"{source}: operator {node.op_type!r} of domain "
                                     f"{node.domain!r} is not a standard ONNX operator")
            if not onnx.defs.has(node.op_type):
                raise OnnxModelError(f"{source}: {node.op_type!r} is not a standard ONNX "
                                     f"operator (a custom op)")
    try:
        onnx.checker.check_model(model)
    except (onnx.checker.ValidationError, ValueError, RuntimeError) as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else "invalid"
        raise OnnxModelError(f"{source}: fails the ONNX checker ({first[:300]})") from None


def _dims(value_info) -> list[int | None] | None:
    """A graph input's or output's declared dims (None: symbolic or unset), None: no shape."""
    tensor = value_info.type.tensor_type
    if not value_info.type.HasField("tensor_type") or not tensor.HasField("shape"):
        return None
    return [dim.dim_value if dim.HasField("dim_value") else None for dim in tensor.shape.dim]


def _shown(dims: list[int | None] | None) -> str:
    return "unknown" if dims is None else "[" + ", ".join(
        "N" if dim is None else str(dim) for dim in dims) + "]"


def _inputs(model) -> list:
    """The graph inputs a caller feeds (an old IR lists initializers among the inputs too)."""
    stored = {tensor.name for tensor in model.graph.initializer}
    return [value for value in model.graph.input if value.name not in stored]


def _one_float_input(model, source: str, role: str):
    import onnx

    inputs = _inputs(model)
    if len(inputs) != 1:
        raise OnnxModelError(f"{source}: the {role} takes {len(inputs)} inputs "
                             f"({', '.join(value.name for value in inputs)}); it must take one")
    value = inputs[0]
    if value.type.tensor_type.elem_type != onnx.TensorProto.FLOAT:
        kind = onnx.TensorProto.DataType.Name(value.type.tensor_type.elem_type)
        raise OnnxModelError(f"{source}: the {role}'s input {value.name!r} is {kind}; it must "
                             f"be float32")
    return value


def _batch_of(dims: list[int | None] | None) -> int | None:
    """The fixed batch size a graph declares (None: free). 0 is how ONNX writes 'unknown'."""
    return dims[0] if dims and dims[0] else None


# --- running a net -------------------------------------------------------------------------


class _Net:
    """One ONNX graph in an onnxruntime CPU session: its input's per-image shape and batch."""

    def __init__(self, data: bytes, source: str, image_shape: tuple[int, ...],
                 batch: int | None) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        # One thread, as torch in app.py: the server's cores serve every session at once.
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        try:
            self.session = ort.InferenceSession(data, options,
                                                providers=["CPUExecutionProvider"])
        except Exception as error:  # noqa: BLE001 - any runtime refusal is a refused file
            raise OnnxModelError(f"{source}: onnxruntime cannot run it "
                                 f"({_first_line(error)})") from None
        self.source = source
        self.input_name = self.session.get_inputs()[0].name
        self.image_shape = image_shape  # one item's input shape, e.g. (1, 28, 28) or (784,)
        self.batch = batch  # fixed batch size, or None
        self.runs = 0  # onnxruntime calls so far (a fixed batch of 1: one per image)

    def run(self, items: np.ndarray, options=None) -> list[np.ndarray]:
        """(N, ...) float32 -> each output (N, ...), RUN_IMAGES or the fixed batch at a time."""
        if not len(items):  # no images: one blank one run for the outputs' shapes, then none
            return [output[:0] for output in self.run(np.zeros((1, *items.shape[1:]),
                                                               np.float32), options)]
        step = self.batch or RUN_IMAGES
        parts: list[list[np.ndarray]] = []
        for start in range(0, len(items), step):
            chunk = items[start:start + step].reshape(-1, *self.image_shape)
            count = len(chunk)
            if self.batch is not None and count < self.batch:
                padding = np.zeros((self.batch - count, *self.image_shape), np.float32)
                chunk = np.concatenate([chunk, padding])
            try:
                outputs = self.session.run(None, {self.input_name: chunk}, options)
            except Exception as error:  # noqa: BLE001 - a graph that fails on real input
                raise OnnxModelError(f"{self.source}: onnxruntime failed on a batch "
                                     f"({_first_line(error)})") from None
            self.runs += 1
            for output in outputs:
                shape = list(np.shape(output))
                if not shape or shape[0] != len(chunk):
                    raise OnnxModelError(f"{self.source}: an output came out {shape} for a "
                                         f"batch of {len(chunk)}; the batch must come first")
            parts.append([np.asarray(output)[:count] for output in outputs])
        return [np.concatenate([part[index] for part in parts]) for index in range(len(parts[0]))]


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return (text.splitlines()[0] if text else type(error).__name__)[:300]


# --- the model -----------------------------------------------------------------------------


class OnnxAutoencoder(Autoencoder):
    """An encoder and a decoder from ONNX files, behind the interface of every family.

    Not trainable (its weights live in the files, not in torch parameters); no prior (the
    pages fit a Gaussian to its codes); variational when its encoder gives a mean and a
    log-variance (`OnnxVariationalAutoencoder`).
    """

    family = ONNX_FAMILY
    description = ONNX_FAMILY
    is_trainable = False

    def __init__(self, config: OnnxModelConfig, encoder: _Net, decoder: _Net,
                 encoder_onnx: bytes, decoder_onnx: bytes, outputs_logits: bool) -> None:
        super().__init__(config)  # type: ignore[arg-type]  (a config without family settings)
        self.encoder_net, self.decoder_net = encoder, decoder
        self.encoder_onnx, self.decoder_onnx = encoder_onnx, decoder_onnx
        self.outputs_logits = outputs_logits
        # Pages find a model's device from its first parameter; a pair runs on the CPU.
        self.device_anchor = nn.Parameter(torch.zeros(0), requires_grad=False)

    def _encoded(self, x: torch.Tensor) -> list[torch.Tensor]:
        items = x.detach().float().cpu().reshape(len(x), INPUT_SIZE).numpy()
        return [torch.from_numpy(np.ascontiguousarray(output, np.float32)).flatten(1)
                for output in self.encoder_net.run(items)]

    def encode(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """(B, 1, 28, 28) -> (B, D) the encoder's code."""
        return self._encoded(x)[0]

    def _decoded(self, z: torch.Tensor) -> torch.Tensor:
        items = z.detach().float().cpu().numpy()
        output = self.decoder_net.run(np.ascontiguousarray(items, np.float32))[0]
        return torch.from_numpy(np.ascontiguousarray(output, np.float32)).reshape(
            len(z), *IMAGE_SHAPE)

    def decode_logits(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """(B, D) -> (B, 1, 28, 28) logits (of the probabilities, for such a decoder)."""
        out = self._decoded(z)
        return out if self.outputs_logits else torch.logit(out.clamp(1e-6, 1 - 1e-6))

    def decode(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """(B, D) -> (B, 1, 28, 28) images in [0, 1]."""
        out = self._decoded(z)
        return torch.sigmoid(out) if self.outputs_logits else out.clamp(0, 1)

    def browser_decoder_onnx(self) -> bytes:
        """The decoder as the browser runs it: input `code`, output `image` in [0, 1]."""
        return browser_decoder(self.decoder_onnx, self.outputs_logits)


class OnnxVariationalAutoencoder(OnnxAutoencoder):
    """A pair whose encoder gives a Gaussian posterior: mean and log-variance, in that order."""

    is_variational = True

    def posterior(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> DiagonalGaussian:
        mean, log_var = self._encoded(x)[:2]
        return DiagonalGaussian(mean, log_var)

    def encode(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """A sample from q(z|x)."""
        return self.posterior(x).sample()

    def embed(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self._encoded(x)[0]

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> ForwardOutput:
        posterior = self.posterior(x)
        code = posterior.sample()
        return ForwardOutput(logits=self.decode_logits(code), code=code, posterior=posterior)

    def loss(self, x: torch.Tensor, out: ForwardOutput, kl_weight: float = 1.0) -> dict:
        """The negative ELBO with beta 1 (Kingma & Welling 2013), for scoring, never training."""
        recon_loss = reconstruction_loss(x, out.logits, "bce")
        kl_loss = out.posterior.kl().mean()
        return {"loss": recon_loss + kl_loss, "recon_loss": recon_loss, "kl_loss": kl_loss,
                "neg_elbo": recon_loss + kl_loss}


# --- the browser's decoder -----------------------------------------------------------------


def browser_decoder(decoder_onnx: bytes, outputs_logits: bool) -> bytes:
    """The pair's decoder renamed to what static/latent_lab/decoder.mjs feeds and reads: input
    `code` (1, D), output `image` (784 values in [0, 1]); a Sigmoid appended to logits."""
    import onnx
    from onnx import helper

    model = onnx.load_from_string(decoder_onnx)
    graph = model.graph
    taken = {name for node in graph.node for name in (*node.input, *node.output)}
    taken |= {value.name for value in (*graph.input, *graph.output, *graph.initializer)}

    def fresh(stem: str) -> str:
        name, count = stem, 0
        while name in taken:
            count += 1
            name = f"{stem}_{count}"
        taken.add(name)
        return name

    for wanted in ("code", "image"):  # free the two names the browser uses
        if wanted in taken and not (wanted == "code" and _inputs(model)[0].name == "code"):
            _rename(graph, wanted, fresh(f"latent_lab_{wanted}"))
    source = _inputs(model)[0]
    if source.name != "code":
        _rename(graph, source.name, "code")
    output = graph.output[0]
    raw = output.name
    output.name = "image"
    graph.node.append(helper.make_node("Sigmoid" if outputs_logits else "Identity", [raw],
                                       ["image"], name="latent_lab_image"))
    return model.SerializeToString()


def _rename(graph, old: str, new: str) -> None:
    """Every use of tensor `old` in `graph` (and its subgraphs) is called `new`."""
    for inner in _graphs(graph):
        for node in inner.node:
            node.input[:] = [new if name == old else name for name in node.input]
            node.output[:] = [new if name == old else name for name in node.output]
        for value in (*inner.input, *inner.output, *inner.value_info, *inner.initializer):
            if value.name == old:
                value.name = new


# --- loading a pair ------------------------------------------------------------------------


@dataclass
class _Meta:
    name: str
    kind: str = "mnist"
    decoder_outputs: str | None = None  # None: detected on the probe
    extra: dict[str, Any] = field(default_factory=dict)


def _read_meta(data: bytes | None, name: str, source: str) -> _Meta:
    if data is None:
        return _Meta(name)
    if len(data) > MAX_META_BYTES:
        raise OnnxModelError(f"{source}: {len(data):,} bytes is too large for the JSON")
    try:
        values = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise OnnxModelError(f"{source}: not valid JSON ({error})") from None
    if not isinstance(values, dict):
        raise OnnxModelError(f"{source}: must be a JSON object")
    unknown = sorted(set(values) - set(META_KEYS))
    if unknown:
        raise OnnxModelError(f"{source}: unknown key(s) {', '.join(map(repr, unknown))}; "
                             f"it may hold {', '.join(META_KEYS)}")
    meta = _Meta(values.get("name", name), values.get("kind", "mnist"),
                 values.get("decoder_outputs"))
    if not isinstance(meta.name, str) or not 0 < len(meta.name) <= 80:
        raise OnnxModelError(f"{source}: name must be a text of 1 to 80 characters")
    if meta.kind not in KINDS:  # the kinds of images declared in ae_core/kinds
        raise OnnxModelError(f"{source}: kind {meta.kind!r} is not one of "
                             f"{', '.join(KINDS)}")
    if meta.decoder_outputs not in (None, *DECODER_OUTPUTS):
        raise OnnxModelError(f"{source}: decoder_outputs {meta.decoder_outputs!r} is not one "
                             f"of {', '.join(DECODER_OUTPUTS)}")
    return meta


def _encoder_net(model, data: bytes, source: str) -> tuple[_Net, list[int | None] | None]:
    value = _one_float_input(model, source, "encoder")
    dims = _dims(value)
    if dims is None or len(dims) < 2 or None in dims[1:] or math.prod(dims[1:]) != INPUT_SIZE:
        raise OnnxModelError(f"{source}: the encoder's input {value.name!r} is "
                             f"{_shown(dims)}; it must take 28x28 images, [N, 1, 28, 28] or "
                             f"[N, 784]")
    outputs = list(model.graph.output)
    if len(outputs) not in (1, 2):
        raise OnnxModelError(f"{source}: the encoder gives {len(outputs)} outputs; it must "
                             f"give a code [N, D], or a mean and a log-variance")
    out_dims = _dims(outputs[0])
    for output in outputs:
        found = _dims(output)
        if found is not None and (len(found) != 2 or (found[1] or 0) > MAX_LATENT):
            raise OnnxModelError(f"{source}: the encoder's output {output.name!r} is "
                                 f"{_shown(found)}; it must be a code [N, D] with "
                                 f"D <= {MAX_LATENT}")
    return _Net(data, source, tuple(dims[1:]), _batch_of(dims)), out_dims


def _decoder_net(model, data: bytes, source: str) -> _Net:
    value = _one_float_input(model, source, "decoder")
    dims = _dims(value)
    if dims is None or len(dims) != 2 or (dims[1] or 0) > MAX_LATENT:
        raise OnnxModelError(f"{source}: the decoder's input {value.name!r} is "
                             f"{_shown(dims)}; it must take codes [N, D] with "
                             f"D <= {MAX_LATENT}")
    outputs = list(model.graph.output)
    found = _dims(outputs[0]) if len(outputs) == 1 else None
    if len(outputs) != 1 or (found is not None and None not in found[1:] and (
            len(found) < 2 or math.prod(found[1:]) != INPUT_SIZE)):
        raise OnnxModelError(f"{source}: the decoder gives {len(outputs)} output(s) "
                             f"{_shown(found)}; it must give one image [N, 1, 28, 28] or "
                             f"[N, 784]")
    return _Net(data, source, (dims[1],) if dims[1] else (-1,), _batch_of(dims))


@functools.cache
def _probe_digits() -> torch.Tensor:
    """(PROBE_IMAGES, 1, 28, 28) real digits, every class, read once (never written to)."""
    from ae_core.data import load_embedded

    digits = load_embedded()
    return digits.float_images()[torch.linspace(0, len(digits) - 1, PROBE_IMAGES).long()]


def _probe(encoder: _Net, decoder: _Net, names: tuple[str, str], declared_code: int | None,
           decoder_declared: int | None) -> tuple[list[np.ndarray], np.ndarray, float]:
    """Encode and decode the probe digits under a deadline; outputs, images and seconds."""
    import onnxruntime as ort

    images = _probe_digits().reshape(PROBE_IMAGES, -1).numpy()
    options = ort.RunOptions()
    timer = threading.Timer(PROBE_SECONDS, lambda: setattr(options, "terminate", True))
    started = time.perf_counter()
    timer.start()
    try:
        codes = encoder.run(images, options)
        for index, (name, code) in enumerate(zip(("code", "log-variance"), codes, strict=False)):
            if code.ndim != 2 or len(code) != PROBE_IMAGES or not 0 < code.shape[1] <= MAX_LATENT:
                raise OnnxModelError(f"{names[0]}: the encoder's {name} came out "
                                     f"{list(code.shape)} for {PROBE_IMAGES} images; it must "
                                     f"be [N, D] with D <= {MAX_LATENT}")
            if index and code.shape != codes[0].shape:
                raise OnnxModelError(f"{names[0]}: the log-variance is {list(code.shape)}, "
                                     f"the mean {list(codes[0].shape)}")
        width = codes[0].shape[1]
        if decoder_declared not in (None, width):
            raise OnnxModelError(f"{names[1]}: the decoder takes codes of {decoder_declared} "
                                 f"numbers, the encoder gives {width}")
        decoder.image_shape = (width,)
        images_out = decoder.run(codes[0].astype(np.float32), options)[0]
    except OnnxModelError as error:
        if options.terminate:
            raise _too_slow(names) from None
        raise error
    finally:
        timer.cancel()
    seconds = time.perf_counter() - started
    if options.terminate or seconds > PROBE_SECONDS:
        raise _too_slow(names)
    if declared_code not in (None, width):
        raise OnnxModelError(f"{names[0]}: declares codes of {declared_code} numbers but gives "
                             f"{width}")
    return codes, images_out, seconds


def _too_slow(names: tuple[str, str]) -> OnnxModelError:
    return OnnxModelError(f"{names[0]} + {names[1]}: {PROBE_IMAGES} digits took longer than "
                          f"{PROBE_SECONDS:g} s to encode and decode")


def load_onnx_pair(encoder_onnx: bytes, decoder_onnx: bytes, name: str = "your model",
                   meta_json: bytes | None = None,
                   sources: tuple[str, str, str] = (ENCODER_FILE, DECODER_FILE, META_FILE)
                   ) -> Checkpoint:
    """Check an encoder and a decoder, probe them on real digits, and hold them as a
    Checkpoint the pages read like any other (`sources`: the files' names in messages)."""
    meta = _read_meta(meta_json, name[:80] or "onnx model", sources[2])
    encoder_model = _parse(encoder_onnx, sources[0])
    decoder_model = _parse(decoder_onnx, sources[1])
    _check_file(encoder_model, sources[0])
    _check_file(decoder_model, sources[1])
    encoder, out_dims = _encoder_net(encoder_model, encoder_onnx, sources[0])
    decoder = _decoder_net(decoder_model, decoder_onnx, sources[1])
    decoder_declared = _dims(_inputs(decoder_model)[0])[1] or None
    declared_code = out_dims[1] if out_dims and out_dims[1] else None
    codes, images, seconds = _probe(encoder, decoder, sources[:2], declared_code,
                                    decoder_declared)
    if images.size != PROBE_IMAGES * INPUT_SIZE:
        raise OnnxModelError(f"{sources[1]}: the decoder's image came out "
                             f"{list(images.shape)} for {PROBE_IMAGES} codes; it must be "
                             f"[N, 1, 28, 28] or [N, 784]")
    for label, values in ((sources[0], codes), (sources[1], [images])):
        if not all(np.isfinite(value).all() for value in values):
            raise OnnxModelError(f"{label}: gives NaN or infinite values on real digits")
    in_range = images.min() >= -_PROBABILITY_SLACK and images.max() <= 1 + _PROBABILITY_SLACK
    outputs = meta.decoder_outputs or ("probabilities" if in_range else "logits")
    if outputs == "probabilities" and not in_range:
        raise OnnxModelError(f"{sources[1]}: said to output probabilities, but gives values "
                             f"from {images.min():.3g} to {images.max():.3g}")
    config = OnnxModelConfig(latent_dim=int(codes[0].shape[1]))
    model_class = OnnxVariationalAutoencoder if len(codes) == 2 else OnnxAutoencoder
    model = model_class(config, encoder, decoder, encoder_onnx, decoder_onnx,
                        outputs_logits=outputs == "logits").eval()
    runs = encoder.runs + decoder.runs
    info = {"name": meta.name, "kind": meta.kind, "dataset": KINDS[meta.kind].quick_train,
            "format": "onnx", "decoder_outputs": outputs,
            "encoder_batch": encoder.batch or "free", "decoder_batch": decoder.batch or "free",
            "probe_ms_per_image": round(1000 * seconds / PROBE_IMAGES, 3),
            "probe_runs": runs}
    # A TrainConfig holding only the dataset: pages read the kind of images from it.
    return Checkpoint(model, config, TrainConfig(dataset=KINDS[meta.kind].quick_train),  # type: ignore[arg-type]
                      {}, info)


def load_onnx_zip(data: bytes, name: str = "upload.zip") -> Checkpoint:
    """A pair in one zip: encoder.onnx and decoder.onnx (or two .onnx files whose names say
    which is which), and an optional .json with name, kind and decoder_outputs."""
    if len(data) > MAX_ONNX_BYTES:
        raise OnnxModelError(f"{name}: {len(data):,} bytes is over the "
                             f"{MAX_ONNX_BYTES // 2**20} MB limit")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = [info for info in archive.infolist() if not info.is_dir()]
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as error:
        raise OnnxModelError(f"{name}: not a readable zip ({error})") from None
    if len(members) > 8 or sum(info.file_size for info in members) > MAX_ONNX_BYTES:
        raise OnnxModelError(f"{name}: holds {len(members)} files of "
                             f"{sum(info.file_size for info in members):,} bytes; a pair is "
                             f"two .onnx files and a JSON, at most {MAX_ONNX_BYTES // 2**20} MB")
    files: dict[str, bytes] = {}
    try:
        for info in members:
            with archive.open(info) as member:
                files[info.filename] = member.read(MAX_ONNX_BYTES + 1)
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, RuntimeError,
            NotImplementedError) as error:
        raise OnnxModelError(f"{name}: a file in it cannot be read ({error})") from None
    stem = Path(name).name.removesuffix(".zip").removesuffix(".onnx")
    return load_onnx_files(files, stem, f"{name}: ")


def load_onnx_files(files: dict[str, bytes], name: str, prefix: str = "") -> Checkpoint:
    """A pair from its files by name (two .onnx, an optional .json): which one is the encoder
    is read from the names (encoder/decoder, enc/dec), else from which takes 784 pixels."""
    onnx_files = {key: value for key, value in files.items() if key.lower().endswith(".onnx")}
    json_files = {key: value for key, value in files.items() if key.lower().endswith(".json")}
    others = sorted(set(files) - set(onnx_files) - set(json_files))
    if len(onnx_files) != 2 or len(json_files) > 1 or others:
        raise OnnxModelError(f"{prefix}a pair is two .onnx files (an encoder and a decoder) "
                             f"and at most one .json; got {', '.join(sorted(files)) or 'nothing'}")
    encoder_name, decoder_name = _roles(onnx_files, prefix)
    meta_name, meta = next(iter(json_files.items()), (META_FILE, None))
    return load_onnx_pair(onnx_files[encoder_name], onnx_files[decoder_name], name, meta,
                          (prefix + encoder_name, prefix + decoder_name, prefix + meta_name))


def _roles(files: dict[str, bytes], prefix: str) -> tuple[str, str]:
    first, second = sorted(files)
    for encoder, decoder in ((first, second), (second, first)):
        stem_e, stem_d = Path(encoder).stem.lower(), Path(decoder).stem.lower()
        if "enc" in stem_e and "dec" in stem_d and "dec" not in stem_e:
            return encoder, decoder
    takes_pixels = []
    for file_name, data in files.items():
        model = _parse(data, prefix + file_name)
        inputs = _inputs(model)
        dims = _dims(inputs[0]) if len(inputs) == 1 else None
        if dims and None not in dims[1:] and math.prod(dims[1:]) == INPUT_SIZE:
            takes_pixels.append(file_name)
    if len(takes_pixels) == 1:
        encoder = takes_pixels[0]
        return encoder, second if encoder == first else first
    raise OnnxModelError(f"{prefix}cannot tell the encoder from the decoder: name them "
                         f"{ENCODER_FILE} and {DECODER_FILE}")


def load_onnx_paths(*paths: Path | str) -> Checkpoint:
    """A pair from disk: one .zip, or an encoder and a decoder .onnx (in that order)."""
    paths = tuple(Path(path) for path in paths)
    for path in paths:
        if not path.is_file():
            raise OnnxModelError(f"{path}: file not found")
        if path.stat().st_size > MAX_ONNX_BYTES:
            raise OnnxModelError(f"{path.name}: {path.stat().st_size:,} bytes is over the "
                                 f"{MAX_ONNX_BYTES // 2**20} MB limit")
    if len(paths) == 1:
        return load_onnx_zip(paths[0].read_bytes(), paths[0].name)
    encoder, decoder = paths
    name = encoder.stem.removesuffix("encoder").strip("_-. ") or f"{encoder.name} + {decoder.name}"
    return load_onnx_pair(encoder.read_bytes(), decoder.read_bytes(), name,
                          sources=(encoder.name, decoder.name, META_FILE))


def is_onnx_pair(checkpoint: Checkpoint) -> bool:
    """Whether `checkpoint` holds an ONNX pair (kept as a zip, never as safetensors)."""
    return isinstance(checkpoint.model, OnnxAutoencoder)


def pair_zip_bytes(checkpoint: Checkpoint) -> bytes:
    """The pair as one zip (encoder.onnx, decoder.onnx, model.json) that `load_onnx_zip`
    reads back as the same model."""
    model = checkpoint.model
    assert isinstance(model, OnnxAutoencoder)
    meta = {"name": checkpoint.info.get("name", "your model"),
            "kind": checkpoint.info.get("kind", "mnist"),
            "decoder_outputs": "logits" if model.outputs_logits else "probabilities"}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(ENCODER_FILE, model.encoder_onnx)
        archive.writestr(DECODER_FILE, model.decoder_onnx)
        archive.writestr(META_FILE, json.dumps(meta, indent=1))
    return buffer.getvalue()


def save_onnx_pair(path: Path | str, checkpoint: Checkpoint, replace: bool = False) -> Path:
    """Write the pair's zip atomically (a temp file in the same folder, then into place);
    without `replace`, an existing file is never replaced (FileExistsError)."""
    path = Path(path)
    if not path.name.endswith(PAIR_SUFFIX):
        raise ValueError(f"{path.name}: a kept pair's name ends in {PAIR_SUFFIX}")
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as temp_file:
            temp_file.write(pair_zip_bytes(checkpoint))
            temp_file.flush()
            os.fsync(temp_file.fileno())
        os.chmod(temp_name, 0o644)
        if replace:
            os.replace(temp_name, path)
        else:
            os.link(temp_name, path)
    finally:
        Path(temp_name).unlink(missing_ok=True)
    return path


def list_onnx_pairs(folder: Path | str) -> list[Path]:
    """The kept pairs (*.onnx.zip) in `folder`, by name; hidden temp files are skipped."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob(f"*{PAIR_SUFFIX}") if not p.name.startswith("."))
