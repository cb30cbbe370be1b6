"""Your own model as an ONNX pair (ae_core/onnx_model.py): a plain PyTorch autoencoder, not
from ae_core, exported with torch.onnx.export, is loaded, agrees with the torch model it came
from, runs as the browser runs it, is kept and read back; every check refuses in one line."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
import warnings
import zipfile
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper
from torch import nn

from ae_core import onnx_model
from ae_core.data import EMBEDDED, evaluation_set
from ae_core.export import decoder_onnx
from ae_core.models.vae import per_dimension_kl
from ae_core.onnx_model import (
    ONNX_FAMILY,
    OnnxModelError,
    OnnxVariationalAutoencoder,
    browser_decoder,
    load_onnx_pair,
    load_onnx_paths,
    load_onnx_zip,
    save_onnx_pair,
)
from tests.onnx_pair import LATENT, export_pair, train_plain_autoencoder

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def plain(tmp_path_factory):
    """(encoder, decoder, encoder.onnx, decoder.onnx): README.md's example, trained briefly."""
    encoder, decoder = train_plain_autoencoder()
    return (encoder, decoder, *export_pair(encoder, decoder, tmp_path_factory.mktemp("pair")))


def exported(module: nn.Module, example: torch.Tensor, inputs: list[str], outputs: list[str],
             free_batch: bool = True, opset: int = 17) -> bytes:
    buffer = io.BytesIO()
    axes = {name: {0: "batch"} for name in [*inputs, *outputs]} if free_batch else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, example, buffer, dynamo=False, input_names=inputs,
                          output_names=outputs, dynamic_axes=axes, opset_version=opset)
    return buffer.getvalue()


def graph(nodes, inputs, outputs, initializers=(), opset: int = 17, extra_opsets=()) -> bytes:
    """A hand-made ONNX model (what torch would never write: the refusals need them)."""
    made = helper.make_graph(nodes, "g", inputs, outputs, list(initializers))
    return helper.make_model(made, ir_version=8, opset_imports=[
        helper.make_opsetid("", opset), *extra_opsets]).SerializeToString()


def tensor(name: str, shape: list) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)


def weights(name: str, rows: int, columns: int, scale: float = 0.05) -> onnx.TensorProto:
    values = np.random.default_rng(0).normal(0, scale, (rows, columns)).astype(np.float32)
    return numpy_helper.from_array(values, name)


def linear_encoder(latent: int = LATENT, **changes) -> bytes:
    """[N, 784] -> [N, latent] by one matrix."""
    return graph([helper.make_node("MatMul", ["x", "w"], ["z"])],
                 [changes.get("input", tensor("x", ["N", 784]))],
                 [changes.get("output", tensor("z", ["N", latent]))],
                 [weights("w", 784, latent)], **changes.get("graph", {}))


def linear_decoder(latent: int = LATENT, sigmoid: bool = True, **changes) -> bytes:
    """[N, latent] -> [N, 784] by one matrix (and a sigmoid)."""
    nodes = [helper.make_node("MatMul", ["z", "w"], ["h" if sigmoid else "x"])]
    if sigmoid:
        nodes.append(helper.make_node("Sigmoid", ["h"], ["x"]))
    return graph(nodes, [changes.get("input", tensor("z", ["N", latent]))],
                 [changes.get("output", tensor("x", ["N", 784]))], [weights("w", latent, 784)],
                 **changes.get("graph", {}))


def refused(encoder: bytes, decoder: bytes, *words: str, meta: bytes | None = None) -> str:
    with pytest.raises(OnnxModelError) as caught:
        load_onnx_pair(encoder, decoder, "t", meta)
    message = str(caught.value)
    assert "\n" not in message
    for word in words:
        assert word in message, message
    return message


# --- a plain PyTorch autoencoder -----------------------------------------------------------


def test_a_plain_pytorch_autoencoder_loads_and_agrees_with_itself(plain, embedded):
    encoder, decoder, encoder_path, decoder_path = plain
    checkpoint = load_onnx_paths(encoder_path, decoder_path)
    model = checkpoint.model
    assert model.latent_dim == LATENT and checkpoint.model_config.family == ONNX_FAMILY
    assert checkpoint.info["decoder_outputs"] == "logits"  # detected on the probe
    assert not model.is_trainable and not model.has_prior and not model.is_variational
    assert checkpoint.train_config.dataset == EMBEDDED  # MNIST digits by default
    images = embedded.float_images()[:300]
    with torch.inference_mode():
        torch.testing.assert_close(model.embed(images), encoder(images), atol=1e-5, rtol=1e-4)
        codes = torch.randn(50, LATENT)
        torch.testing.assert_close(model.decode(codes), torch.sigmoid(decoder(codes)),
                                   atol=1e-5, rtol=1e-4)
        recon = torch.sigmoid(decoder(encoder(images)))
        torch.testing.assert_close(model.reconstruct(images), recon, atol=1e-5, rtol=1e-4)
        out = model(images)
        terms = model.loss(images, out)
    assert torch.isfinite(terms["loss"]) and set(terms) >= {"loss", "recon_loss"}


def test_the_browser_runs_the_pairs_own_decoder(plain):
    """What the browser is sent: input `code`, output `image` in [0, 1], the sigmoid added to
    a logits decoder; onnxruntime (the browser's, in WebAssembly) gives model.decode."""
    _, _, encoder_path, decoder_path = plain
    model = load_onnx_paths(encoder_path, decoder_path).model
    session = ort.InferenceSession(decoder_onnx(model))  # what the page sends
    assert [i.name for i in session.get_inputs()] == ["code"]
    assert [o.name for o in session.get_outputs()] == ["image"]
    code = np.random.default_rng(1).normal(size=(1, LATENT)).astype(np.float32)
    pixels = session.run(None, {"code": code})[0].reshape(-1)
    expected = model.decode(torch.from_numpy(code)).reshape(-1).numpy()
    np.testing.assert_allclose(pixels, expected, atol=1e-5)
    assert pixels.min() >= 0 and pixels.max() <= 1 and pixels.size == 784


def test_the_browser_decoder_renames_any_names_and_keeps_probabilities():
    """Input `latent`, output `code` (the browser's input name, taken): renamed out of the way."""
    decoder = graph([helper.make_node("MatMul", ["latent", "w"], ["h"]),
                     helper.make_node("Sigmoid", ["h"], ["code"])],
                    [tensor("latent", ["N", 4])], [tensor("code", ["N", 784])],
                    [weights("w", 4, 784)])
    rebuilt = browser_decoder(decoder, outputs_logits=False)
    onnx.checker.check_model(onnx.load_from_string(rebuilt))
    session = ort.InferenceSession(rebuilt)
    code = np.ones((1, 4), np.float32)
    original = ort.InferenceSession(decoder).run(None, {"latent": code})[0]
    np.testing.assert_allclose(session.run(["image"], {"code": code})[0], original)


def test_a_probabilities_decoder_is_detected_and_a_vae_encoder_gives_a_posterior(embedded):
    torch.manual_seed(0)

    class Encoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.body, self.mean, self.log_var = nn.Linear(784, 32), nn.Linear(32, 3), \
                nn.Linear(32, 3)

        def forward(self, x):
            hidden = torch.relu(self.body(x))
            return self.mean(hidden), self.log_var(hidden)

    encoder = Encoder().eval()
    decoder = nn.Sequential(nn.Linear(3, 784), nn.Sigmoid()).eval()
    checkpoint = load_onnx_pair(
        exported(encoder, torch.rand(1, 784), ["image"], ["mean", "log_var"]),
        exported(decoder, torch.rand(1, 3), ["z"], ["pixels"]), "vae")
    model = checkpoint.model
    assert isinstance(model, OnnxVariationalAutoencoder) and model.is_variational
    assert checkpoint.info["decoder_outputs"] == "probabilities"
    images = embedded.float_images()[:40]
    with torch.inference_mode():
        mean, log_var = encoder(images.flatten(1))
        posterior = model.posterior(images)
        torch.testing.assert_close(posterior.mean, mean, atol=1e-5, rtol=1e-4)
        torch.testing.assert_close(posterior.log_var, log_var, atol=1e-5, rtol=1e-4)
        torch.testing.assert_close(model.embed(images), mean, atol=1e-5, rtol=1e-4)
        torch.testing.assert_close(model.decode(mean).flatten(1), decoder(mean), atol=1e-5,
                                   rtol=1e-4)
        terms = model.loss(images, model(images))
    assert per_dimension_kl(model, images).shape == (3,)
    assert torch.isfinite(terms["neg_elbo"]) and terms["kl_loss"] > 0


@pytest.mark.parametrize("batch", [1, 4])
def test_a_fixed_batch_is_run_by_looping(plain, embedded, batch):
    """A graph exported with its batch fixed (no dynamic axes) runs `batch` images a call,
    the last call padded; the codes are those of the free-batch export."""
    encoder, decoder, *_ = plain
    pair = load_onnx_pair(exported(encoder, torch.rand(batch, 1, 28, 28), ["x"], ["z"], False),
                          exported(decoder, torch.rand(batch, LATENT), ["z"], ["y"], False))
    assert pair.info["encoder_batch"] == batch and pair.info["decoder_batch"] == batch
    images = embedded.float_images()[:10]  # 10 is not a multiple of 4: padded
    with torch.inference_mode():
        torch.testing.assert_close(pair.model.reconstruct(images),
                                   torch.sigmoid(decoder(encoder(images))), atol=1e-5,
                                   rtol=1e-4)
    assert pair.model.encoder_net.runs > 0
    assert pair.model.embed(images[:0]).shape == (0, LATENT)  # no images, no error
    if batch == 1:  # the browser decodes one code at a time: a batch of 1 is what it wants
        assert ort.InferenceSession(decoder_onnx(pair.model)).get_inputs()[0].name == "code"


def test_a_pair_is_kept_as_one_zip_and_read_back_the_same(plain, tmp_path, embedded):
    _, _, encoder_path, decoder_path = plain
    checkpoint = load_onnx_paths(encoder_path, decoder_path)
    checkpoint.info.update(name="mine", kind="fashion-mnist")
    path = save_onnx_pair(tmp_path / "mine.onnx.zip", checkpoint)
    with pytest.raises(FileExistsError):  # never replaced unless asked
        save_onnx_pair(path, checkpoint)
    back = load_onnx_paths(path)
    assert back.info["name"] == "mine" and back.train_config.dataset == "fashion-mnist"
    assert back.info["decoder_outputs"] == "logits"  # said by its JSON now
    images = embedded.float_images()[:20]
    torch.testing.assert_close(back.model.reconstruct(images),
                               checkpoint.model.reconstruct(images))
    names = zipfile.ZipFile(path).namelist()
    assert sorted(names) == ["decoder.onnx", "encoder.onnx", "model.json"]


def test_a_zip_with_any_names_says_which_is_which_by_the_shapes(tmp_path):
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as writing:
        writing.writestr("a.onnx", linear_decoder())
        writing.writestr("b.onnx", linear_encoder())
        writing.writestr("about.json", json.dumps({"name": "hand made", "kind": "mnist"}))
    checkpoint = load_onnx_zip(archive.getvalue(), "mine.zip")
    assert checkpoint.info["name"] == "hand made" and checkpoint.model.latent_dim == LATENT


# --- refusals, one per check --------------------------------------------------------------


def test_refuses_a_file_over_the_upload_limit(monkeypatch):
    monkeypatch.setattr(onnx_model, "MAX_ONNX_BYTES", 1000)
    refused(linear_encoder(), linear_decoder(), "encoder.onnx", "over the")


def test_refuses_what_is_not_onnx_or_fails_the_checker():
    refused(b"\x00not onnx at all\xff" * 10, linear_decoder(), "encoder.onnx", "not")
    refused(linear_encoder()[:-7], linear_decoder(), "encoder.onnx")  # truncated
    broken = graph([helper.make_node("MatMul", ["z"], ["x"])],  # MatMul needs two inputs
                   [tensor("z", ["N", LATENT])], [tensor("x", ["N", 784])])
    refused(linear_encoder(), broken, "decoder.onnx", "ONNX checker")


def test_refuses_external_data_before_anything_reads_it(tmp_path, monkeypatch):
    """A weight that names another file (here one that exists, beside the working folder) is
    refused by the loader's own check, before the ONNX checker or onnxruntime would open it."""
    secret = tmp_path / "secret.bin"
    secret.write_bytes(np.ones(784 * LATENT, np.float32).tobytes())
    model = onnx.load_from_string(linear_encoder())
    initializer = model.graph.initializer[0]
    initializer.ClearField("raw_data")
    initializer.data_location = TensorProto.EXTERNAL
    initializer.external_data.add(key="location", value="secret.bin")
    monkeypatch.chdir(tmp_path)
    refused(model.SerializeToString(), linear_decoder(), "encoder.onnx: tensor 'w'",
            "external data")


def test_refuses_operators_outside_the_standard_domain():
    custom = graph([helper.make_node("MatMul", ["z", "w"], ["h"]),
                    helper.make_node("FusedGelu", ["h"], ["x"], domain="com.microsoft")],
                   [tensor("z", ["N", LATENT])], [tensor("x", ["N", 784])],
                   [weights("w", LATENT, 784)],
                   extra_opsets=[helper.make_opsetid("com.microsoft", 1)])
    refused(linear_encoder(), custom, "decoder.onnx", "com.microsoft", "not standard")
    unknown = graph([helper.make_node("MatMul", ["z", "w"], ["h"]),
                     helper.make_node("MyActivation", ["h"], ["x"])],
                    [tensor("z", ["N", LATENT])], [tensor("x", ["N", 784])],
                    [weights("w", LATENT, 784)])
    refused(linear_encoder(), unknown, "MyActivation", "custom op")


@pytest.mark.parametrize("opset", [6, 22])
def test_refuses_an_opset_the_browser_does_not_run(opset):
    refused(linear_encoder(graph={"opset": opset}), linear_decoder(), f"opset {opset}",
            "7..21")


def test_refuses_shapes_that_do_not_fit_and_says_which():
    refused(linear_encoder(input=tensor("x", ["N", 3, 32, 32])), linear_decoder(),
            "encoder's input 'x' is [N, 3, 32, 32]")
    refused(linear_encoder(output=tensor("z", ["N", 5000])), linear_decoder(),
            "encoder's output 'z' is [N, 5000]", "1024")
    refused(linear_encoder(), linear_decoder(output=tensor("x", ["N", 10])),
            "decoder gives 1 output(s) [N, 10]")
    refused(linear_encoder(), linear_decoder(input=tensor("z", ["N", 2, 4])),
            "decoder's input 'z' is [N, 2, 4]")
    refused(linear_encoder(), linear_decoder(latent=16), "takes codes of 16", "gives 8")
    double = helper.make_tensor_value_info("x", TensorProto.DOUBLE, ["N", 784])
    refused(linear_encoder(input=double), linear_decoder(), "DOUBLE", "float32")


def test_undeclared_shapes_are_read_from_the_probe_and_a_batch_must_come_first():
    unknown = tensor("z", [None, None])
    pair = load_onnx_pair(linear_encoder(output=unknown), linear_decoder(), "t")
    assert pair.model.latent_dim == LATENT
    scalar = graph([helper.make_node("MatMul", ["z", "w"], ["h"]),
                    helper.make_node("ReduceMean", ["h"], ["x"], keepdims=0)],
                   [tensor("z", ["N", LATENT])],
                   [tensor("x", [None, None])],
                   [weights("w", LATENT, 784)])
    refused(linear_encoder(), scalar, "decoder.onnx", "came out []", "batch must come first")


def test_refuses_huge_declared_dimensions_before_running():
    huge = tensor("x", ["N", 2**40])
    refused(linear_encoder(input=huge), linear_decoder(), f"[N, {2**40}]")


def test_refuses_a_probe_that_gives_nan():
    nan_decoder = graph([helper.make_node("MatMul", ["z", "w"], ["h"]),
                         helper.make_node("Sqrt", ["h"], ["x"])],  # sqrt of negatives
                        [tensor("z", ["N", LATENT])], [tensor("x", ["N", 784])],
                        [weights("w", LATENT, 784, scale=1.0)])
    refused(linear_encoder(), nan_decoder, "decoder.onnx", "NaN")


def test_refuses_a_probe_slower_than_the_limit_and_stops_it(monkeypatch):
    """A hundred chained 2500x2500 products per batch (80 GFLOP: seconds on one thread of any
    machine; ten were 8 GFLOP, which a quiet core with wide vector units can do in 0.1 s),
    stopped at a limit of 0.1 s: refused before it ends."""
    monkeypatch.setattr(onnx_model, "PROBE_SECONDS", 0.1)
    nodes = [helper.make_node("MatMul", ["x", "grow"], ["h0"])]
    nodes += [helper.make_node("MatMul", [f"h{i}", "square"], [f"h{i + 1}"]) for i in range(100)]
    nodes.append(helper.make_node("MatMul", ["h100", "shrink"], ["z"]))
    slow = graph(nodes, [tensor("x", ["N", 784])], [tensor("z", ["N", LATENT])],
                 [weights("grow", 784, 2500), weights("square", 2500, 2500, 0.01),
                  weights("shrink", 2500, LATENT)])
    started = time.perf_counter()
    refused(slow, linear_decoder(), "longer than 0.1 s")
    assert time.perf_counter() - started < 60


def test_refuses_a_json_that_does_not_fit():
    refused(linear_encoder(), linear_decoder(), "unknown key", meta=b'{"colour": "red"}')
    refused(linear_encoder(), linear_decoder(), "kind 'cats'", meta=b'{"kind": "cats"}')
    refused(linear_encoder(), linear_decoder(sigmoid=False), "said to output probabilities",
            meta=b'{"decoder_outputs": "probabilities"}')


def test_refuses_zips_that_are_not_a_pair(monkeypatch):
    def zipped(files: dict[str, bytes]) -> bytes:
        archive = io.BytesIO()
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as writing:
            for name, data in files.items():
                writing.writestr(name, data)
        return archive.getvalue()

    for data, words in [(b"PK\x03\x04 not really", "not a readable zip"),
                        (zipped({"encoder.onnx": linear_encoder()}), "two .onnx files"),
                        (zipped({"encoder.onnx": linear_encoder(),
                                 "decoder.onnx": linear_decoder(), "run.sh": b"rm -rf /"}),
                         "run.sh")]:
        with pytest.raises(OnnxModelError, match=words):
            load_onnx_zip(data, "mine.zip")
    # A bomb: a megabyte of zeros deflates to a kilobyte; its declared size is what counts.
    monkeypatch.setattr(onnx_model, "MAX_ONNX_BYTES", 100_000)
    bomb = zipped({"encoder.onnx": bytes(1_000_000), "decoder.onnx": b""})
    assert len(bomb) < 100_000
    with pytest.raises(OnnxModelError, match="at most"):
        load_onnx_zip(bomb, "bomb.zip")


# --- the command line -----------------------------------------------------------------------


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ae_core", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})


def test_the_command_line_evaluates_maps_and_samples_a_pair(plain, tmp_path):
    encoder, decoder, encoder_path, decoder_path = plain
    pair = ["--encoder", str(encoder_path), "--decoder", str(decoder_path)]
    done = run_cli("evaluate", *pair, "--json")
    assert done.returncode == 0, done.stderr
    metrics = json.loads(done.stdout)
    test = evaluation_set(EMBEDDED).float_images()
    with torch.inference_mode():
        mse = float(((torch.sigmoid(decoder(encoder(test))) - test) ** 2).mean())
    assert metrics["mse_per_pixel"] == pytest.approx(mse, rel=1e-4)
    done = run_cli("map", *pair, "--out", str(tmp_path / "map.csv"), str(tmp_path / "map.png"))
    assert done.returncode == 0, done.stderr
    assert len((tmp_path / "map.csv").read_text().splitlines()) == 5001
    done = run_cli("sample", *pair, "--n", "9", "--out", str(tmp_path / "s.png"))
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "s.png").read_bytes()[:4] == b"\x89PNG"
    assert "fitted" in done.stdout  # no prior: a Gaussian fitted to its codes
    done = run_cli("evaluate", "--encoder", str(encoder_path))
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert "--encoder and --decoder go together" in done.stderr


def test_the_readme_example_exports_a_pair_that_loads(tmp_path, monkeypatch):
    """README.md's example block, run as it is written (untrained), gives a pair that loads."""
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Your own model (ONNX)"):]
    start = section.index("```python\n") + len("```python\n")
    block = section[start:section.index("\n```\n", start)]
    assert "torch.onnx.export(encoder" in block and "torch.onnx.export(decoder" in block
    monkeypatch.chdir(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        exec(compile(block, "README.md", "exec"), {})
    checkpoint = load_onnx_paths("encoder.onnx", "decoder.onnx")
    assert checkpoint.model.latent_dim == 8 and checkpoint.info["decoder_outputs"] == "logits"
