"""Where a trained model goes: its target checked before training, and never lost after it.

A run can take minutes; a folder that cannot be written, a full disk or another run that took
the same name meanwhile must not throw that work away. `check_target` finds the first two
before training starts; `keep` writes the result, under a free name when the target appeared
meanwhile, or into a fallback file when the target cannot be written at all, and says so.
"""

from __future__ import annotations

import math
import shutil
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from ae_core.checkpoint import save_checkpoint
from ae_core.config import ModelConfig
from ae_core.models import Autoencoder, expected_shapes

HEADROOM_BYTES = 16 * 1024 * 1024  # metadata, stored maps, and the temp file beside the target


@dataclass
class Kept:
    path: Path  # where the model is now
    note: str | None  # what went differently from the plan, in one line (with the paths)
    public_note: str | None = None  # the same for a page's visitors: names, never folders

    def __post_init__(self) -> None:
        if self.public_note is None:
            self.public_note = self.note


def checkpoint_bytes(config: ModelConfig) -> int:
    """About how many bytes a float32 checkpoint of `config` takes (no model is built)."""
    return 4 * sum(math.prod(shape) for shape in expected_shapes(config).values())


def check_target(path: Path, config: ModelConfig, overwrite: bool = False) -> None:
    """Before training: refuse (OSError or ValueError, one line) a target that cannot be had."""
    if path.exists() and not overwrite:
        raise ValueError(f"{path} exists; pass --overwrite to replace it")
    path.parent.mkdir(parents=True, exist_ok=True)
    try:  # the real test of a writable folder, root and read-only mounts included
        with tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.",
                                         suffix=".probe"):
            pass
    except OSError as error:
        raise OSError(f"cannot write in {path.parent}: {error.strerror or error}") from None
    needed = 2 * checkpoint_bytes(config) + HEADROOM_BYTES  # the temp file, then the file
    free = shutil.disk_usage(path.parent).free
    if free < needed:
        raise OSError(f"{path.parent} has {free / 2**20:.0f} MB free; saving this model needs "
                      f"about {needed / 2**20:.0f} MB")


def free_name(path: Path) -> Path:
    """path, or path-2, path-3, ... : the first name not taken."""
    candidate, count = path, 1
    while candidate.exists():
        count += 1
        candidate = path.with_name(f"{path.stem}-{count}{path.suffix}")
    return candidate


def keep(path: Path, model: Autoencoder, replace: bool = False, **save_options) -> Kept:
    """Save `model` at `path` (replacing a file there only when `replace`), never losing it."""
    target = path
    while True:
        try:
            save_checkpoint(target, model, replace=replace, **save_options)
        except FileExistsError:  # another run or session took the name meanwhile
            target = free_name(target)
            continue
        except OSError as error:
            stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
            fallback = free_name(Path(tempfile.gettempdir())
                                 / f"latent-lab-unsaved-{stamp}.safetensors")
            save_checkpoint(fallback, model, replace=False, **save_options)
            return Kept(fallback, f"could not write {path} ({error.strerror or error}); the "
                                  f"model is kept in {fallback}",
                        f"could not write {path.name} ({error.strerror or 'an error'}); the "
                        f"model is kept in a temporary file on the server (its log says where)")
        note = None if target == path else (f"{path.name} was taken while this model trained; "
                                            f"saved as {target.name}")
        return Kept(target, note)


def evict_oldest(folder: Path, max_bytes: int, keep_path: Path | None = None) -> list[Path]:
    """Delete the oldest checkpoints in `folder` until they take at most `max_bytes`; never
    `keep_path` (the one just saved). For a folder of visitors' models, never the shipped."""
    files = []
    for path in folder.glob("*.safetensors"):
        try:
            files.append((path.stat().st_mtime, path.stat().st_size, path))
        except OSError:  # removed meanwhile
            continue
    total = sum(size for _, size, _ in files)
    removed = []
    for _, size, path in sorted(files):
        if total <= max_bytes:
            break
        if keep_path is not None and path.resolve() == keep_path.resolve():
            continue
        path.unlink(missing_ok=True)
        total -= size
        removed.append(path)
    return removed
