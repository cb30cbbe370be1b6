"""Fit the learned code prior of a shipped VQ-VAE and store it in its checkpoint, no retraining.

    PYTHONPATH=. .venv/bin/python scripts/fit_code_prior.py                  # checkpoints/vqvae
    PYTHONPATH=. .venv/bin/python scripts/fit_code_prior.py --path other.safetensors --force

The prior (ae_core.vq_prior: a causal transformer over the code grid) is fitted to the code
grids of the very digits the VQ-VAE trained on (`ae_core.train.prepare_data` of its stored
train config, the same split), rounded to float16 like the rest of the file, and measured in
bits per position on the MNIST test set (../shared/data/mnist) against the independent prior.
The VQ-VAE's own weights and the extras are written back unchanged (checked after the write);
metrics gain the two bits-per-position figures, info a "code_prior" entry saying how it was made.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run from a checkout without installing the package

from ae_core.checkpoint import load_checkpoint, save_checkpoint  # noqa: E402
from ae_core.data import SHARED_MNIST_DIR, load_idx_folder, shared_test_set_available  # noqa: E402
from ae_core.train import prepare_data  # noqa: E402
from ae_core.vq_prior import PREFIX, fit_model_prior, prior_bits  # noqa: E402

# 30 epochs: about 2.1 test bits per position against the independent prior's 3.3 (a few
# minutes on one busy core); docs/quality.md has the figures of the shipped file.
EPOCHS = 30


def round_to_float16(module: torch.nn.Module) -> None:
    """Round the weights through float16 in place, so the figures describe the stored file."""
    module.load_state_dict({name: value.half().float() for name, value
                            in module.state_dict().items()})


def add_code_prior(path: Path, epochs: int = EPOCHS, force: bool = False) -> str:
    """Fit, measure and store the prior of the VQ-VAE in `path` (atomically); what was done."""
    checkpoint = load_checkpoint(path)
    model = checkpoint.model
    if not model.has_codebook:
        return f"{path.name}: a {model.family} model has no code grid; skipped"
    if model.code_prior is not None and not force:
        return f"{path.name}: has a learned code prior already; skipped (--force refits)"
    if checkpoint.train_config is None:
        raise ValueError(f"{path.name}: no train config, so no training digits to fit to")
    train_data, val_data = prepare_data(checkpoint.train_config)
    train_images = train_data.float_images()
    started = time.perf_counter()
    prior = fit_model_prior(model, train_images, epochs=epochs, on_epoch=lambda epoch, nats: (
        print(f"  epoch {epoch}/{epochs}: {nats / 0.6931472:.3f} bits per position (train)",
              file=sys.stderr, flush=True) if epoch % 5 == 0 or epoch == epochs else None))
    seconds = time.perf_counter() - started
    round_to_float16(prior)
    if shared_test_set_available():
        test = load_idx_folder(SHARED_MNIST_DIR, "test", "mnist-test")
        evaluated_on = f"MNIST test set ({len(test):,} digits)"
    else:
        test, evaluated_on = val_data, f"{val_data.name} ({len(val_data):,} held-out digits)"
    bits = prior_bits(model, prior, test.float_images(), train_images)
    model.attach_code_prior(prior)
    info = {**checkpoint.info, "code_prior": {
        "what": "causal transformer over the code grid in raster order (ae_core.vq_prior)",
        "config": prior.config.to_dict(),
        "parameters": sum(p.numel() for p in prior.parameters()),
        "fitted_on": f"code grids of the {len(train_data):,} training digits "
                     f"({train_data.name})",
        "epochs": epochs, "fit_seconds": round(seconds, 1), "evaluated_on": evaluated_on,
        "independent_prior": "per-position entry frequencies of the training grids, "
                             "each count raised by 1 (Laplace)",
        "script": "scripts/fit_code_prior.py"}}
    storage_dtype = checkpoint.info.get("storage_dtype", "float32")
    before = {name: value for name, value in read_raw_weights(path).items()
              if not name.startswith(PREFIX)}
    save_checkpoint(path, model, checkpoint.train_config, {**checkpoint.metrics, **bits}, info,
                    checkpoint.extras, storage_dtype=storage_dtype)
    after = read_raw_weights(path)
    changed = [name for name, value in before.items() if not torch.equal(after[name], value)]
    if changed:
        raise RuntimeError(f"{path.name}: {changed[:3]} changed in the rewrite")
    if load_checkpoint(path).model.code_prior is None:
        raise RuntimeError(f"{path.name}: the rewritten file has no code prior")
    return (f"{path.name}: code prior of {info['code_prior']['parameters']:,} parameters fitted "
            f"in {seconds:.0f} s; {evaluated_on}: {bits['prior_bits_per_position']:.3f} bits "
            f"per position, independent prior {bits['independent_bits_per_position']:.3f}")


def read_raw_weights(path: Path) -> dict[str, torch.Tensor]:
    """Every tensor of the file as stored (float16 stays float16)."""
    from safetensors.torch import load_file

    return load_file(str(path))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--path", type=Path, default=ROOT / "checkpoints" / "vqvae.safetensors")
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--force", action="store_true", help="refit a stored prior")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    print(add_code_prior(args.path, args.epochs, args.force), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
