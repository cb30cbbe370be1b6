"""Add the 3-D UMAP map of the embedded digits to the shipped checkpoints, without retraining.

    PYTHONPATH=. .venv/bin/python scripts/store_maps.py              # every file lacking it
    PYTHONPATH=. .venv/bin/python scripts/store_maps.py --only ae_32 --force

Each file is read as raw safetensors: its weights and other extras are written back as the
very bytes they were (float16 stays float16; checked after the write), its metadata is kept
but for `info["extras"]`, which gains a line describing the new map. The map is the one
`ae_core.projection.embedded_umap_extras(model, n_components=3)` computes from the loaded
model (15 neighbours, min_dist 0.1, seed 0), stored as float16 like the 2-D one. A model whose
code has fewer than 3 numbers gets none: the latent map offers no 3-D view for it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save as safetensors_bytes

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run from a checkout without installing the package

from ae_core.checkpoint import EXTRA_PREFIX, load_checkpoint  # noqa: E402
from ae_core.projection import embedded_umap_extras, precomputed_key  # noqa: E402

N_COMPONENTS = 3


def _read_raw(path: Path) -> tuple[dict[str, str], dict[str, torch.Tensor]]:
    with safe_open(str(path), framework="pt", device="cpu") as reader:
        return reader.metadata() or {}, {name: reader.get_tensor(name) for name in reader.keys()}


def _bytes(tensor: torch.Tensor) -> bytes:
    return tensor.contiguous().view(torch.uint8).numpy().tobytes()


def store_3d_map(path: Path, force: bool = False) -> str:
    """Add the 3-D map to one checkpoint file in place (atomically); returns what was done."""
    checkpoint = load_checkpoint(path)
    if checkpoint.model.latent_dim < N_COMPONENTS:
        return f"{path.name}: a {checkpoint.model.latent_dim}-D code, no 3-D map; skipped"
    if checkpoint.train_config is not None and \
            checkpoint.train_config.kind != "mnist":
        return (f"{path.name}: opens on its own test set, whose 3-D map "
                f"scripts/train_checkpoints.py stores; skipped")
    metadata, tensors = _read_raw(path)
    key = precomputed_key("umap", "embedded", n_components=N_COMPONENTS)
    if EXTRA_PREFIX + key in tensors and not force:
        return f"{path.name}: {key} is stored already; skipped (--force recomputes)"
    started = time.perf_counter()
    coords = embedded_umap_extras(checkpoint.model, n_components=N_COMPONENTS)[key]
    seconds = time.perf_counter() - started
    before = {name: _bytes(value) for name, value in tensors.items()}
    tensors[EXTRA_PREFIX + key] = coords.half().contiguous()
    info = json.loads(metadata["info"])
    info.setdefault("extras", {})[key] = (
        f"{tuple(coords.shape)} float16: UMAP to 3-D (15 neighbours, min_dist 0.1, seed 0) of "
        f"the embedded 5,000 digits' codes, computed in {seconds:.0f} s by "
        f"scripts/store_maps.py")
    metadata = {**metadata, "info": json.dumps(info)}
    size_before = path.stat().st_size
    handle, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as temp_file:
            temp_file.write(safetensors_bytes(tensors, metadata=metadata))
            temp_file.flush()
            os.fsync(temp_file.fileno())
        os.chmod(temp_name, 0o644)
        _, written = _read_raw(Path(temp_name))
        changed = [name for name, data in before.items()
                   if name != EXTRA_PREFIX + key and _bytes(written[name]) != data]
        if changed:
            raise RuntimeError(f"{path.name}: {changed[:3]} would change; nothing written")
        os.replace(temp_name, path)
    finally:
        Path(temp_name).unlink(missing_ok=True)
    load_checkpoint(path)  # still a valid checkpoint
    return (f"{path.name}: stored {key} {tuple(coords.shape)} in {seconds:.0f} s; "
            f"{size_before:,} -> {path.stat().st_size:,} bytes")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--folder", type=Path, default=ROOT / "checkpoints")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="these checkpoints only")
    parser.add_argument("--force", action="store_true", help="recompute a stored 3-D map")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    paths = sorted(args.folder.glob("*.safetensors"))
    if args.only:
        paths = [path for path in paths if path.stem in args.only]
    for path in paths:
        print(store_3d_map(path, args.force), flush=True)
        torch.set_num_threads(1)  # a UMAP fit resets torch's thread count
    total = sum(path.stat().st_size for path in args.folder.glob("*.safetensors"))
    print(f"{args.folder}: {total / 2**20:.2f} MiB in all", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
