"""Results that are the same for every visitor of a shipped model, computed ahead.

`scripts/precompute.py` opens the pages that measure something slow (AE vs VAE's judge and
midpoints, the bottleneck curves, the denoising curves, Home's cards) with every shipped model
and records what `stored` computed into STORE_FILE (JSON, committed). A server then answers
the first visitor from the file instead of making them wait 10-60 s. An entry's key holds the
SHA-256 of every checkpoint it was measured on, so a retrained checkpoint is measured again
rather than shown stale figures; a session's own model never has an entry.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from ui import state

STORE_FILE = state.PROJECT_ROOT / "checkpoints" / "precomputed.json"
T = TypeVar("T")
_recording: dict[str, Any] | None = None  # scripts/precompute.py collects entries here
_used: list[str] = []  # keys answered from the file in this process (tests read it)


@functools.cache
def _entries(path: str, mtime: float) -> dict[str, Any]:
    """The file's entries, read once per version of the file."""
    return json.loads(Path(path).read_text())


def entries() -> dict[str, Any]:
    try:
        return _entries(str(STORE_FILE), STORE_FILE.stat().st_mtime)
    except (OSError, ValueError):
        return {}


@functools.cache
def _file_hash(path: str, mtime: float) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def model_identity(model_key: str) -> str | None:
    """The content hash of a shipped checkpoint from its cache key ("<path>@<mtime>"), or None
    for a model that is not a file of the checkpoints folder (a session's, a saved one)."""
    path = Path(model_key.rsplit("@", 1)[0])
    if path.parent.resolve() != state.CHECKPOINT_DIR.resolve() or not path.is_file():
        return None
    return f"{path.name}:{_file_hash(str(path), path.stat().st_mtime)[:16]}"


def stored(name: str, parts: tuple, compute: Callable[[], T],
           to_json: Callable[[T], Any] = lambda value: value,
           from_json: Callable[[Any], T] = lambda value: value,
           model_keys: tuple[str, ...] = ()) -> T:
    """`compute()`, or its stored result when STORE_FILE has one for `name`, `parts` and the
    models `model_keys` (by content). `parts` must be JSON-able and say everything the result
    depends on besides the models."""
    identities = [model_identity(key) for key in model_keys]
    if any(identity is None for identity in identities):
        return compute()
    key = json.dumps([name, *identities, *parts], sort_keys=True, default=str)
    found = entries().get(key)
    if found is not None:
        _used.append(key)
        return from_json(found)
    result = compute()
    if _recording is not None:
        _recording[key] = to_json(result)
    return result


def record() -> dict[str, Any]:
    """Start collecting what `stored` computes in this process; returns the dict it fills."""
    global _recording
    _recording = {}
    return _recording


def write(found: dict[str, Any], path: Path = STORE_FILE) -> None:
    """Write `found` as the store, atomically (a temp file in the same folder, then rename)."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(handle, "w") as out:
        json.dump(dict(sorted(found.items())), out, indent=0)
    os.chmod(temporary, 0o644)  # mkstemp's 0600 would hide it from a server run by another user
    os.replace(temporary, path)


def bytes_to_json(pictures: dict[str, bytes]) -> dict[str, str]:
    return {name: base64.b64encode(data).decode() for name, data in pictures.items()}


def bytes_from_json(pictures: dict[str, str]) -> dict[str, bytes]:
    return {name: base64.b64decode(data) for name, data in pictures.items()}
