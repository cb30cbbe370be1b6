"""Checkpoints: one safetensors file with the whole config in its metadata, atomic saves, and
loads that refuse every kind of bad file (pickles without unpickling them) with CheckpointError."""

from __future__ import annotations

import json
import os
import pickle
from pathlib import Path

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file

from ae_core import checkpoint as checkpoint_module
from ae_core.checkpoint import (
    FORMAT_VERSION,
    CheckpointError,
    checkpoint_to_bytes,
    list_checkpoints,
    load_checkpoint,
    load_checkpoint_bytes,
    read_metadata,
    save_checkpoint,
)
from ae_core.config import ModelConfig, TrainConfig
from ae_core.models import Autoencoder, build_model

CONFIG = ModelConfig(family="vae", latent_dim=4, hidden_sizes=(32,))
TRAIN = TrainConfig(epochs=2, batch_size=64, lr=2e-3, kl_warmup_epochs=1, seed=7,
                    dataset="mnist-embedded", exclude_classes=(9,))


@pytest.fixture
def model() -> Autoencoder:
    torch.manual_seed(0)
    return build_model(CONFIG)


@pytest.fixture
def saved(tmp_path: Path, model: Autoencoder) -> Path:
    return save_checkpoint(tmp_path / "vae.safetensors", model, TRAIN,
                           metrics={"loss": 120.5, "kl_loss": 3.25},
                           info={"dataset": TRAIN.dataset, "epochs_completed": 2})


def read_raw(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    with safe_open(str(path), framework="pt") as reader:
        return {name: reader.get_tensor(name) for name in reader.keys()}, reader.metadata()


def rewrite(path: Path, tensors=None, metadata=None) -> Path:
    """Write a variant of the checkpoint at `path`: edited tensors and/or metadata."""
    original_tensors, original_metadata = read_raw(path)
    tensors = {**original_tensors, **(tensors or {})}
    tensors = {name: value for name, value in tensors.items() if value is not None}
    metadata = {**original_metadata, **(metadata or {})}
    bad = path.with_name("bad.safetensors")
    save_file(tensors, str(bad), metadata={k: v for k, v in metadata.items() if v is not None})
    return bad


def refused(path: Path, *fragments: str) -> str:
    with pytest.raises(CheckpointError) as error:
        load_checkpoint(path)
    message = str(error.value)
    for fragment in fragments:
        assert fragment in message, message
    return message


# What a checkpoint holds


def test_one_file_with_the_whole_config(saved: Path, model: Autoencoder):
    assert sorted(p.name for p in saved.parent.iterdir()) == ["vae.safetensors"]
    tensors, metadata = read_raw(saved)
    assert set(tensors) == set(model.state_dict())
    assert metadata["format"] == "latent-lab" and metadata["format_version"] == FORMAT_VERSION
    assert json.loads(metadata["model_config"]) == json.loads(json.dumps(CONFIG.to_dict()))
    train = json.loads(metadata["train_config"])
    assert train == json.loads(json.dumps(TRAIN.to_dict()))
    assert train["dataset"] == "mnist-embedded" and train["kl_warmup_epochs"] == 1
    assert json.loads(metadata["metrics"]) == {"loss": 120.5, "kl_loss": 3.25}
    info = json.loads(metadata["info"])
    assert info["epochs_completed"] == 2 and info["storage_dtype"] == "float32"
    assert info["created"].startswith("20")
    assert oct(saved.stat().st_mode & 0o777) == oct(0o644)


def test_load_gives_back_everything(saved: Path, model: Autoencoder, batch):
    loaded = load_checkpoint(saved)
    assert loaded.model_config == CONFIG and loaded.train_config == TRAIN
    assert loaded.train_config.exclude_classes == (9,)  # JSON lists come back as tuples
    assert loaded.metrics == {"loss": 120.5, "kl_loss": 3.25}
    assert loaded.info["dataset"] == "mnist-embedded" and loaded.path == saved
    assert loaded.name == "vae"
    x, y = batch
    model.eval()
    with torch.inference_mode():
        torch.testing.assert_close(loaded.model.reconstruct(x, y), model.reconstruct(x, y))
    assert ModelConfig.from_dict(read_metadata(saved)["model_config"]) == CONFIG


def test_extras_travel_in_the_same_file(tmp_path: Path, model: Autoencoder):
    projection = torch.randn(50, 2)
    path = save_checkpoint(tmp_path / "m.safetensors", model,
                           extras={"pca_embedded": projection, "labels": torch.arange(50)})
    loaded = load_checkpoint(path)
    torch.testing.assert_close(loaded.extras["pca_embedded"], projection)
    assert torch.equal(loaded.extras["labels"], torch.arange(50))
    assert loaded.train_config is None


def test_float16_storage_round_trip(tmp_path: Path, model: Autoencoder, batch):
    full = save_checkpoint(tmp_path / "full.safetensors", model)
    half = save_checkpoint(tmp_path / "half.safetensors", model, storage_dtype="float16")
    assert half.stat().st_size < 0.6 * full.stat().st_size
    tensors, _ = read_raw(half)
    assert all(value.dtype == torch.float16 for value in tensors.values())
    loaded = load_checkpoint(half)
    assert loaded.info["storage_dtype"] == "float16"
    for name, value in model.state_dict().items():
        restored = loaded.model.state_dict()[name]
        assert restored.dtype == torch.float32  # the model computes in float32 again
        torch.testing.assert_close(restored, value.half().float(), rtol=0, atol=0)
    x, y = batch
    model.eval()
    with torch.inference_mode():
        torch.testing.assert_close(loaded.model.reconstruct(x, y), model.reconstruct(x, y),
                                   rtol=0, atol=5e-3)
    with pytest.raises(ValueError, match="storage_dtype='bfloat16'"):
        save_checkpoint(tmp_path / "b.safetensors", model, storage_dtype="bfloat16")


def test_bytes_round_trip(model: Autoencoder):
    data = checkpoint_to_bytes(model, TRAIN, metrics={"loss": 1.0})
    loaded = load_checkpoint_bytes(data, "my model.safetensors")
    assert loaded.path is None and loaded.name == "my model"
    assert loaded.model_config == CONFIG and loaded.metrics == {"loss": 1.0}


def test_list_checkpoints_skips_temp_files(tmp_path: Path, model: Autoencoder):
    save_checkpoint(tmp_path / "b.safetensors", model)
    save_checkpoint(tmp_path / "a.safetensors", model)
    (tmp_path / ".a.safetensors.123.tmp").write_bytes(b"partial")
    (tmp_path / ".hidden.safetensors").write_bytes(b"partial")
    (tmp_path / "notes.txt").write_text("not a checkpoint")
    assert [p.name for p in list_checkpoints(tmp_path)] == ["a.safetensors", "b.safetensors"]
    assert list_checkpoints(tmp_path / "absent") == []


# Atomic saves


def test_save_replaces_an_old_file_without_leftovers(saved: Path, model: Autoencoder):
    with torch.no_grad():
        model.to_mean.bias.fill_(0.5)
    save_checkpoint(saved, model, TRAIN)
    assert [p.name for p in saved.parent.iterdir()] == ["vae.safetensors"]
    torch.testing.assert_close(load_checkpoint(saved).model.to_mean.bias, torch.full((4,), 0.5))


@pytest.mark.parametrize("failing", ["fsync", "replace"])
def test_a_failed_save_leaves_the_old_file_intact(saved: Path, model: Autoencoder, monkeypatch,
                                                  failing):
    before = saved.read_bytes()

    def fail(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(checkpoint_module.os, failing, fail)
    with pytest.raises(OSError, match="No space left"):
        save_checkpoint(saved, model, TRAIN, metrics={"loss": 1.0})
    monkeypatch.undo()
    assert saved.read_bytes() == before
    assert [p.name for p in saved.parent.iterdir()] == ["vae.safetensors"]
    assert load_checkpoint(saved).metrics["loss"] == 120.5


@pytest.mark.parametrize("storage", ["float32", "float16"])
def test_save_never_writes_non_finite_weights(saved: Path, model: Autoencoder, storage):
    before = saved.read_bytes()
    with torch.no_grad():
        if storage == "float32":
            model.to_mean.weight[0, 0] = float("nan")
        else:
            model.to_mean.weight[0, 0] = 1e6  # finite in float32, infinite in float16
    with pytest.raises(CheckpointError, match="to_mean.weight holds NaN or infinite"):
        save_checkpoint(saved, model, storage_dtype=storage)
    with pytest.raises(CheckpointError):
        save_checkpoint(saved.with_name("new.safetensors"), model, storage_dtype=storage)
    assert saved.read_bytes() == before
    assert [p.name for p in saved.parent.iterdir()] == ["vae.safetensors"]


# Files that are refused


def test_missing_file(tmp_path: Path):
    refused(tmp_path / "absent.safetensors", "file not found")
    refused(tmp_path, "file not found")  # a folder


@pytest.mark.parametrize("content", [b"", b"hello, I am not a checkpoint", b"\x00" * 64,
                                     b'{"format": "latent-lab"}'],
                         ids=["empty", "text", "zeros", "json"])
def test_not_a_safetensors_file(tmp_path: Path, content: bytes):
    path = tmp_path / "x.safetensors"
    path.write_bytes(content)
    refused(path, "x.safetensors", "not a readable safetensors file")


class Hostile:
    """Unpickling this creates `marker`: proof that a loader ran code from the file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


@pytest.mark.parametrize("kind", ["torch.save", "torch.save legacy", "pickle"])
def test_a_pickle_is_refused_without_being_unpickled(tmp_path: Path, kind: str):
    marker = tmp_path / "pwned"
    path = tmp_path / "model.safetensors"
    payload = {"encoder.0.weight": torch.zeros(3), "hook": Hostile(marker)}
    if kind == "pickle":
        path.write_bytes(pickle.dumps(payload))
    else:
        torch.save(payload, path, _use_new_zipfile_serialization=kind == "torch.save")
    refused(path, "model.safetensors", "not a readable safetensors file")
    with pytest.raises(CheckpointError):
        load_checkpoint_bytes(path.read_bytes(), "upload.safetensors")
    with pytest.raises(CheckpointError):
        read_metadata(path)
    assert not marker.exists()
    # The file really is hostile: an unsafe loader runs its code.
    if kind == "pickle":
        pickle.loads(path.read_bytes())
    else:
        path.rename(tmp_path / "model.pt")  # torch.load reads .safetensors names differently
        torch.load(tmp_path / "model.pt", weights_only=False)
    assert marker.exists()


@pytest.mark.parametrize("keep", [0.5, 0.99, 8, 100], ids=["half", "most", "8-bytes", "header"])
def test_truncated_file(saved: Path, keep: float):
    raw = saved.read_bytes()
    saved.write_bytes(raw[: int(len(raw) * keep) if keep < 1 else int(keep)])
    refused(saved, "not a readable safetensors file")


def test_too_large(saved: Path, monkeypatch):
    monkeypatch.setattr(checkpoint_module, "MAX_CHECKPOINT_BYTES", 1000)
    refused(saved, "too large")
    with pytest.raises(CheckpointError, match="too large"):
        load_checkpoint_bytes(b"\x00" * 1001)


def test_plain_safetensors_without_our_metadata(tmp_path: Path, model: Autoencoder):
    path = tmp_path / "plain.safetensors"
    save_file({n: v.contiguous() for n, v in model.state_dict().items()}, str(path))
    refused(path, "not a Latent Lab checkpoint")


def test_wrong_shapes(saved: Path):
    bad = rewrite(saved, tensors={"to_mean.weight": torch.zeros(5, 32)})
    refused(bad, "to_mean.weight", "(5, 32)", "(4, 32)")


def test_weights_of_another_config(saved: Path):
    bad = rewrite(saved, metadata={"model_config": json.dumps(
        {**CONFIG.to_dict(), "latent_dim": 6})})
    refused(bad, "has shape", "(32, 4)", "the config needs (32, 6)")


def test_missing_and_unexpected_weights(saved: Path):
    bad = rewrite(saved, tensors={"to_mean.bias": None, "spare.weight": torch.zeros(2)})
    refused(bad, "missing", "to_mean.bias", "unexpected", "spare.weight")


def test_unknown_family(saved: Path):
    bad = rewrite(saved, metadata={"model_config": json.dumps(
        {**CONFIG.to_dict(), "family": "gan"})})
    refused(bad, "unknown model family 'gan'", "vae", "conv_ae")


@pytest.mark.parametrize("key", ["model_config", "train_config"])
def test_unknown_config_fields(saved: Path, key: str):
    values = json.loads(read_raw(saved)[1][key])
    bad = rewrite(saved, metadata={key: json.dumps({**values, "dropout": 0.5})})
    refused(bad, "invalid config", "dropout")


@pytest.mark.parametrize("value", ['{"latent_dim": 0}', '{"hidden_sizes": "wide"}',
                                   '{"recon_loss": "l1"}', '[1, 2]', 'null'])
def test_invalid_config_values(saved: Path, value: str):
    values = json.loads(value)
    if isinstance(values, dict):
        values = {**CONFIG.to_dict(), **values}
    bad = rewrite(saved, metadata={"model_config": json.dumps(values)})
    refused(bad, "invalid config")


@pytest.mark.parametrize("key", ["model_config", "train_config", "metrics", "info"])
def test_bad_json_metadata(saved: Path, key: str):
    bad = rewrite(saved, metadata={key: '{"family": "vae",'})
    refused(bad, key, "not valid JSON")
    with pytest.raises(CheckpointError, match="not valid JSON"):
        read_metadata(bad)


def test_missing_metadata_field(saved: Path):
    refused(rewrite(saved, metadata={"model_config": None}), "no 'model_config'")


def test_metrics_must_be_an_object(saved: Path):
    refused(rewrite(saved, metadata={"metrics": "[1, 2]"}), "JSON objects")


@pytest.mark.parametrize("version", ["2", "0", None])
def test_wrong_format_version(saved: Path, version):
    refused(rewrite(saved, metadata={"format_version": version}), "format version",
            f"reads version {FORMAT_VERSION}")


@pytest.mark.parametrize("dtype", [torch.float64, torch.int32, torch.int64, torch.bfloat16,
                                   torch.uint8])
def test_wrong_dtypes(saved: Path, dtype):
    weight = read_raw(saved)[0]["to_mean.weight"]
    bad = rewrite(saved, tensors={"to_mean.weight": weight.to(dtype)})
    refused(bad, "to_mean.weight", str(dtype), "expected float32/16")


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16])
def test_non_finite_weights(saved: Path, value: float, dtype):
    weight = read_raw(saved)[0]["decoder.0.weight"].clone().to(dtype)
    weight[1, 2] = value
    refused(rewrite(saved, tensors={"decoder.0.weight": weight}), "decoder.0.weight",
            "NaN or infinite")


def test_upload_errors_name_the_upload(saved: Path):
    raw = saved.read_bytes()
    with pytest.raises(CheckpointError, match="mine.safetensors"):
        load_checkpoint_bytes(raw[:100], "mine.safetensors")
    weight = read_raw(saved)[0]["to_mean.weight"]
    bad = rewrite(saved, tensors={"to_mean.weight": weight.double()})
    with pytest.raises(CheckpointError, match="mine.safetensors: to_mean.weight"):
        load_checkpoint_bytes(bad.read_bytes(), "mine.safetensors")


def test_a_refused_load_leaves_the_file_alone(saved: Path):
    raw = saved.read_bytes()
    saved.write_bytes(raw[:-10])
    refused(saved)
    assert saved.read_bytes() == raw[:-10] and os.path.getsize(saved) == len(raw) - 10


# A file that asks for all the memory (issue 12) ---------------------------------------------


def test_a_config_over_the_parameter_budget_is_refused_before_any_tensor_is_read(
        saved: Path, monkeypatch):
    huge = json.dumps({**json.loads(read_raw(saved)[1]["model_config"]),
                       "hidden_sizes": [8192] * 8})  # ~1 G parameters: 4 GB before training
    bad = rewrite(saved, metadata={"model_config": huge})

    def no_tensor_read(*args, **kwargs):
        raise AssertionError("a tensor was read before the config was checked")

    monkeypatch.setattr(checkpoint_module, "_read_file", no_tensor_read)
    refused(bad, "invalid config", "parameters; the limit is 20,000,000")


@pytest.mark.parametrize("field, value, fragment", [
    ("hidden_sizes", [8192] * 40, "must hold 0 to 8 entries"),
    ("latent_dim", True, "latent_dim=True must be a whole number"),
    ("beta", "lots", "beta='lots' must be a number"),
    ("beta", float("nan"), "beta=nan must be in 0..100"),
])
def test_sizes_and_values_out_of_bounds_get_a_one_line_reason(saved: Path, field, value,
                                                               fragment):
    config = {**json.loads(read_raw(saved)[1]["model_config"]), field: value}
    message = refused(rewrite(saved, metadata={"model_config": json.dumps(config)}), fragment)
    assert "\n" not in message and "Traceback" not in message


@pytest.mark.parametrize("family, field", [("vqvae", "codebook_size"), ("cvae", "num_classes")])
@pytest.mark.parametrize("value", [10**7, 10**9])
def test_counts_have_a_bound(family, field, value):
    with pytest.raises(ValueError, match=f"{field}={value} must be in"):
        ModelConfig(family=family, **{field: value})


def test_shapes_that_do_not_match_the_config_are_refused_before_any_tensor_is_read(
        saved: Path, monkeypatch):
    tensors, _ = read_raw(saved)
    name = next(iter(tensors))
    bad = rewrite(saved, tensors={name: torch.zeros(3, 3)})
    monkeypatch.setattr(checkpoint_module, "_read_file", lambda *a, **k: pytest.fail("read"))
    refused(bad, f"{name} has shape (3, 3)")


def test_a_metric_that_is_not_a_number_is_ignored(saved: Path):
    metrics = json.dumps({"mse_per_pixel": "x", "loss": 120.5, "psnr_db": None, "bad": True})
    checkpoint = load_checkpoint(rewrite(saved, metadata={"metrics": metrics}))
    assert checkpoint.metrics == {"loss": 120.5}


def test_a_save_removes_temp_files_that_killed_saves_left_and_they_are_never_listed(
        tmp_path: Path, model: Autoencoder):
    stale = tmp_path / ".vae.safetensors.abc123.tmp"
    stale.write_bytes(b"half a checkpoint")
    os.utime(stale, (0, 0))  # written long ago: its process is gone
    fresh = tmp_path / ".other.safetensors.def456.tmp"
    fresh.write_bytes(b"a save in progress")
    assert list_checkpoints(tmp_path) == []
    save_checkpoint(tmp_path / "vae.safetensors", model)
    assert not stale.exists() and fresh.exists()
    assert list_checkpoints(tmp_path) == [tmp_path / "vae.safetensors"]


def test_a_save_that_must_not_replace_refuses_a_name_taken_meanwhile(tmp_path: Path,
                                                                     model: Autoencoder):
    target = tmp_path / "mine.safetensors"
    save_checkpoint(target, model, replace=False)
    first = target.read_bytes()
    other = build_model(ModelConfig(family="vae", latent_dim=2, hidden_sizes=(16,)))
    with pytest.raises(FileExistsError):
        save_checkpoint(target, other, replace=False)
    assert target.read_bytes() == first  # the first model is not lost
    assert [p.name for p in tmp_path.iterdir()] == ["mine.safetensors"]  # no temp file left
