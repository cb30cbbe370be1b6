"""Checkpoints: one safetensors file holding the weights and, in its metadata, the whole config.

No pickle anywhere: safetensors' header is JSON and its tensors are raw bytes, so a file from a
stranger can be refused but never run. Saves are atomic; loads validate before building.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save as safetensors_bytes

from ae_core.config import ModelConfig, TrainConfig
from ae_core.errors import OneLineError
from ae_core.guard import GuardError, parse_json
from ae_core.models import MAX_PARAMETERS, Autoencoder, build_model, expected_shapes
from ae_core.registry import family_class
from ae_core.vq_prior import METADATA_KEY as PRIOR_METADATA_KEY
from ae_core.vq_prior import PREFIX as PRIOR_PREFIX
from ae_core.vq_prior import CodePrior, CodePriorConfig, expected_prior_shapes

FORMAT_VERSION = "1"
FORMAT_NAME = "latent-lab"
# Far above any MNIST model (the parameter budget is 80 MB as float32); the app's upload limit
# (server.maxUploadSize in .streamlit/config.toml) is the same.
MAX_CHECKPOINT_BYTES = 200 * 1024 * 1024
EXTRA_PREFIX = "extra."  # tensors stored beside the weights (precomputed codes, projections)
STORAGE_DTYPES = {"float32": torch.float32, "float16": torch.float16}
# A save writes its temp file in seconds; one this old was left by a killed process.
STALE_TEMP_SECONDS = 600


class CheckpointError(OneLineError):
    """A checkpoint cannot be read or does not match its config; the message says why."""


@dataclass
class Checkpoint:
    """A loaded model with everything its file says about it."""

    model: Autoencoder
    model_config: ModelConfig
    train_config: TrainConfig | None
    metrics: dict[str, float]
    info: dict[str, Any]  # dataset, created, history summary, anything else in the metadata
    extras: dict[str, torch.Tensor] = field(default_factory=dict)
    path: Path | None = None

    @property
    def name(self) -> str:
        return self.path.stem if self.path else self.info.get("name", "unsaved")


def save_checkpoint(path: Path | str, model: Autoencoder, train_config: TrainConfig | None = None,
                    metrics: dict[str, float] | None = None, info: dict[str, Any] | None = None,
                    extras: dict[str, torch.Tensor] | None = None,
                    storage_dtype: str = "float32", replace: bool = True) -> Path:
    """Write model + config atomically: a temp file in the same folder, then os.replace.

    With `replace=False` an existing file is never replaced, even one that appeared while this
    save was being prepared (FileExistsError): the temp file is linked into place, which fails
    atomically when the name is taken. Non-finite weights (a diverged model, or float16
    overflowing) are refused before anything is written: a checkpoint on disk always loads.
    """
    if storage_dtype not in STORAGE_DTYPES:
        raise ValueError(f"storage_dtype={storage_dtype!r} is not one of "
                         f"{', '.join(STORAGE_DTYPES)}")
    path = Path(path)
    tensors = {name: value.detach().to("cpu", STORAGE_DTYPES[storage_dtype]).contiguous()
               for name, value in model.state_dict().items()}
    for name, value in tensors.items():
        if value.is_floating_point() and not torch.isfinite(value).all():
            raise CheckpointError(f"refusing to save {path.name}: {name} holds NaN or infinite "
                                  f"values as {storage_dtype}")
    for name, value in (extras or {}).items():
        tensors[EXTRA_PREFIX + name] = value.detach().cpu().contiguous()
    metadata = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "model_config": json.dumps(model.config.to_dict()),
        "train_config": json.dumps(train_config.to_dict() if train_config else None),
        "metrics": json.dumps(metrics or {}),
        "info": json.dumps({"created": datetime.now(UTC).isoformat(timespec="seconds"),
                            "storage_dtype": storage_dtype, **(info or {})}),
    }
    # A VQ-VAE's learned prior: its weights are in the state dict under PRIOR_PREFIX.
    code_prior = model.code_prior if model.has_codebook else None
    if code_prior is not None:
        metadata[PRIOR_METADATA_KEY] = json.dumps(code_prior.config.to_dict())
    payload = safetensors_bytes(tensors, metadata=metadata)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temp_files(path.parent)
    handle, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as temp_file:
            temp_file.write(payload)
            temp_file.flush()
            os.fsync(temp_file.fileno())
        os.chmod(temp_name, 0o644)  # mkstemp makes it private; a checkpoint is for sharing
        if replace:
            os.replace(temp_name, path)
        else:
            os.link(temp_name, path)  # FileExistsError when taken, whoever took it
    finally:
        Path(temp_name).unlink(missing_ok=True)
    return path


def remove_stale_temp_files(folder: Path) -> list[Path]:
    """Delete the temp files of saves that never finished (a process killed mid-write)."""
    removed = []
    now = datetime.now(UTC).timestamp()
    for temp in folder.glob(".*.safetensors.*.tmp"):
        try:
            if now - temp.stat().st_mtime > STALE_TEMP_SECONDS:
                temp.unlink()
                removed.append(temp)
        except OSError:  # gone already, or not ours to delete: never a reason to fail a save
            continue
    return removed


def checkpoint_to_bytes(model: Autoencoder, train_config: TrainConfig | None = None,
                        metrics: dict[str, float] | None = None,
                        info: dict[str, Any] | None = None) -> bytes:
    """The same file as `save_checkpoint` writes, in memory (for a download button)."""
    with tempfile.TemporaryDirectory() as folder:
        path = save_checkpoint(Path(folder) / "model.safetensors", model, train_config,
                               metrics, info)
        return path.read_bytes()


def _json_field(metadata: dict[str, str], key: str, source: str) -> Any:
    if key not in metadata:
        raise CheckpointError(f"{source}: metadata has no {key!r}; not a Latent Lab checkpoint")
    try:  # size, depth and numbers checked before the parser sees it (ae_core.guard)
        # NaN and infinities are read here and refused by the field they are in: a config's
        # validation names the field (beta=nan must be in 0..100), _finite_metrics drops a
        # diverged run's NaN metric. Depth, size and huge integers are refused here.
        return parse_json(metadata[key], f"metadata {key!r}", finite=False)
    except GuardError as error:
        raise CheckpointError(f"{source}: {error}") from None


def _open(path: Path, source: str | None):
    if not path.is_file():
        raise CheckpointError(f"{source or path}: file not found")
    if path.stat().st_size > MAX_CHECKPOINT_BYTES:
        raise CheckpointError(f"{source or path}: {path.stat().st_size} bytes is too large "
                              f"for a checkpoint")
    return safe_open(str(path), framework="pt", device="cpu")


def _unreadable(path: Path, source: str | None, error: Exception) -> CheckpointError:
    return CheckpointError(f"{source or path.name}: not a readable safetensors file ({error})")


def _read_header(path: Path, source: str | None = None
                 ) -> tuple[dict[str, str], dict[str, tuple[int, ...]]]:
    """Metadata and every tensor's shape, from the header alone: no tensor is read."""
    try:
        with _open(path, source) as reader:
            metadata = reader.metadata() or {}
            shapes = {name: tuple(reader.get_slice(name).get_shape()) for name in reader.keys()}
    except (SafetensorError, OSError, ValueError, RuntimeError) as error:
        if isinstance(error, CheckpointError):
            raise
        raise _unreadable(path, source, error) from None
    return metadata, shapes


def _read_file(path: Path, source: str | None = None
               ) -> tuple[dict[str, str], dict[str, torch.Tensor]]:
    """Metadata and tensors of a safetensors file; errors name `source` (an upload's name)."""
    try:
        with _open(path, source) as reader:
            metadata = reader.metadata() or {}
            tensors = {name: reader.get_tensor(name) for name in reader.keys()}
    except (SafetensorError, OSError, ValueError, RuntimeError) as error:
        if isinstance(error, CheckpointError):
            raise
        raise _unreadable(path, source, error) from None
    return metadata, tensors


def _finite_metrics(metrics: dict[str, Any]) -> dict[str, float]:
    """The metrics that are finite numbers; any other value a file holds is ignored, so a page
    that shows them never meets a string where it formats a number."""
    return {str(name): float(value) for name, value in metrics.items()
            if isinstance(value, int | float) and not isinstance(value, bool)
            and value == value and abs(value) != float("inf")}


def load_checkpoint_bytes(data: bytes, name: str = "upload") -> Checkpoint:
    """Validate and load a checkpoint given as bytes (an upload)."""
    if len(data) > MAX_CHECKPOINT_BYTES:
        raise CheckpointError(f"{name}: {len(data)} bytes is too large for a checkpoint")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "upload.safetensors"
        path.write_bytes(data)
        checkpoint = load_checkpoint(path, source_name=name)
    checkpoint.path = None
    checkpoint.info.setdefault("name", Path(name).stem)
    return checkpoint


def load_checkpoint(path: Path | str, source_name: str | None = None) -> Checkpoint:
    """Read, validate (format, family, every tensor's name, shape and dtype), then build."""
    path = Path(path)
    source = source_name or path.name
    metadata, shapes = _read_header(path, source_name)
    if metadata.get("format") != FORMAT_NAME:
        raise CheckpointError(f"{source}: not a Latent Lab checkpoint (no '{FORMAT_NAME}' format "
                              f"tag in its metadata)")
    if metadata.get("format_version") != FORMAT_VERSION:
        found = str(metadata.get("format_version"))
        shown = found if len(found) <= 24 else found[:24] + "…"
        raise CheckpointError(f"{source}: format version {shown!r}, "
                              f"this Latent Lab reads version {FORMAT_VERSION}")
    try:
        model_config = ModelConfig.from_dict(_json_field(metadata, "model_config", source))
        train_values = _json_field(metadata, "train_config", source)
        train_config = TrainConfig.from_dict(train_values) if train_values is not None else None
        # The config's size and the file's shapes are checked on the meta device, before a
        # byte of the model is allocated or a tensor read: a header cannot ask for the memory.
        expected = expected_shapes(model_config)
    except (TypeError, ValueError, OverflowError, RecursionError) as error:
        if isinstance(error, CheckpointError):
            raise
        raise CheckpointError(f"{source}: invalid config ({error})") from None
    metrics = _json_field(metadata, "metrics", source)
    info = _json_field(metadata, "info", source)
    if not isinstance(metrics, dict) or not isinstance(info, dict):
        raise CheckpointError(f"{source}: metrics and info must be JSON objects")
    metrics = _finite_metrics(metrics)
    prior_config, prior_shapes = _code_prior_config(metadata, shapes, model_config, source)
    weight_shapes = {name: shape for name, shape in shapes.items()
                     if not name.startswith((EXTRA_PREFIX, PRIOR_PREFIX))}
    _check_shapes(weight_shapes, expected, f"weights do not match a {model_config.family} model",
                  "the config", source)

    _, tensors = _read_file(path, source_name)
    extras = {name[len(EXTRA_PREFIX):]: value for name, value in tensors.items()
              if name.startswith(EXTRA_PREFIX)}
    weights = {name: value for name, value in tensors.items()
               if not name.startswith(EXTRA_PREFIX)}  # the model's and its prior's
    for name, value in weights.items():
        if value.dtype not in STORAGE_DTYPES.values():
            raise CheckpointError(f"{source}: {name} is {value.dtype}, expected float32/16")
        if not torch.isfinite(value).all():
            raise CheckpointError(f"{source}: {name} holds NaN or infinite values")
    model = build_model(model_config)
    model.load_state_dict({name: value.float() for name, value in weights.items()
                           if name not in prior_shapes}, strict=True)
    if prior_config is not None:
        code_prior = CodePrior(prior_config)
        code_prior.load_state_dict({name[len(PRIOR_PREFIX):]: weights[name].float()
                                    for name in prior_shapes}, strict=True)
        try:
            model.attach_code_prior(code_prior)
        except ValueError as error:
            raise CheckpointError(f"{source}: {error}") from None
    model.eval()
    return Checkpoint(model, model_config, train_config, metrics, info, extras, path)


def _code_prior_config(metadata: dict[str, str], shapes: dict[str, tuple[int, ...]],
                       model_config: ModelConfig, source: str
                       ) -> tuple[CodePriorConfig | None, dict[str, tuple[int, ...]]]:
    """The learned code prior's config and its tensors' shapes (by their names in the file),
    checked against each other and the model's family; (None, {}) for a file without one."""
    prior_shapes = {name: shape for name, shape in shapes.items()
                    if name.startswith(PRIOR_PREFIX)}
    if PRIOR_METADATA_KEY not in metadata:
        if prior_shapes:
            raise CheckpointError(f"{source}: {sorted(prior_shapes)[0]} belongs to a code "
                                  f"prior, but the metadata has no {PRIOR_METADATA_KEY!r}")
        return None, {}
    if not family_class(model_config.family).has_codebook:
        raise CheckpointError(f"{source}: a {model_config.family} model has no code grid for "
                              f"a code prior")
    try:
        config = CodePriorConfig.from_dict(_json_field(metadata, PRIOR_METADATA_KEY, source))
        expected = {PRIOR_PREFIX + name: shape
                    for name, shape in expected_prior_shapes(config).items()}
    except (TypeError, ValueError, OverflowError, RecursionError) as error:
        if isinstance(error, CheckpointError):
            raise
        raise CheckpointError(f"{source}: invalid code prior config ({error})") from None
    _check_shapes(prior_shapes, expected, "code prior weights do not match its config",
                  "the code prior's config", source)
    # The model and its prior together stay within the parameter budget.
    total = sum(math.prod(shape) for shape in {**shapes, **expected}.values())
    if total > MAX_PARAMETERS:
        raise CheckpointError(f"{source}: the model and its code prior hold {total:,} "
                              f"numbers; the limit is {MAX_PARAMETERS:,}")
    return config, prior_shapes


def _check_shapes(found: dict[str, tuple[int, ...]], expected: dict[str, tuple[int, ...]],
                  mismatch: str, config_name: str, source: str) -> None:
    """Refuse tensors whose names or shapes differ from what `config_name` builds."""
    missing = sorted(set(expected) - set(found))
    unexpected = sorted(set(found) - set(expected))
    if missing or unexpected:
        raise CheckpointError(f"{source}: {mismatch} "
                              f"(missing: {missing[:5]}, unexpected: {unexpected[:5]})")
    for name, shape in found.items():
        if shape != expected[name]:
            raise CheckpointError(f"{source}: {name} has shape {shape}, {config_name} "
                                  f"needs {expected[name]}")


def list_checkpoints(folder: Path | str) -> list[Path]:
    """The *.safetensors files in `folder`, by name; hidden temp files are skipped."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob("*.safetensors") if not p.name.startswith("."))


def read_metadata(path: Path | str) -> dict[str, Any]:
    """The decoded metadata of a checkpoint without building its model (for listings)."""
    path = Path(path)
    metadata, _ = _read_file(path)
    return {key: (_json_field(metadata, key, path.name)
                  if key in ("model_config", "train_config", "metrics", "info") else value)
            for key, value in metadata.items()}
