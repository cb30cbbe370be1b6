"""The quality table's measurements: every checkpoint in a folder scored on a test set, beside
PCA (`python -m ae_core quality`; ae_core.quality_markdown writes them as docs/quality.md).

One function, `model_metrics`, scores a model; the training script stores its result in each
shipped checkpoint and `quality_report` recomputes it from the files, so the table never
trusts numbers it did not measure.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ae_core.checkpoint import list_checkpoints, load_checkpoint
from ae_core.config import INPUT_SIZE, TrainConfig
from ae_core.data import DataError, Dataset, evaluation_set, load_set
from ae_core.kinds import get_kind
from ae_core.latent import model_device
from ae_core.models import Autoencoder
from ae_core.models.posterior import standard_normal_log_prob
from ae_core.train import prepare_data

DENOISE_SIGMA = 0.5  # the Gaussian noise std of the denoising target
IW_SAMPLES = 16  # importance samples per digit for the VAE's -log p(x) (Burda et al. 2016)


@torch.inference_mode()
def importance_weighted_nll(model: Autoencoder, images: torch.Tensor, labels: torch.Tensor,
                            samples: int = IW_SAMPLES, batch_size: int = 100,
                            seed: int = 0) -> float:
    """(N, 1, 28, 28) -> mean -log p(x) in nats, the k-sample importance-weighted bound.

    log p(x) >= E[log (1/k) sum_i p(x|z_i) p(z_i) / q(z_i|x)], z_i ~ q(z|x) (Burda et al.
    2016, eq. 8): tighter than the ELBO (k = 1) and tending to log p(x) as k grows. p(x|z) is
    the grey-level Bernoulli (BCE) likelihood the ELBO uses, so both are in the same nats.
    """
    if not model.is_variational:
        raise ValueError(f"{model.config.family} has no Gaussian posterior")
    model.eval()
    device = model_device(model)
    generator = torch.Generator().manual_seed(seed)
    total = 0.0
    for start in range(0, len(images), batch_size):
        x = images[start:start + batch_size].to(device)
        y = labels[start:start + batch_size].to(device)
        posterior = model.posterior(x, y)
        z = posterior.sample(samples, generator)  # (k, B, D)
        logits = model.decode_logits(z.flatten(0, 1), y.repeat(samples))  # (k*B, 1, 28, 28)
        targets = x.flatten(1).repeat(samples, 1)
        log_px_z = -F.binary_cross_entropy_with_logits(
            logits.flatten(1), targets, reduction="none").sum(1).view(samples, len(x))
        log_weights = log_px_z + standard_normal_log_prob(z) - posterior.log_prob(z)  # (k, B)
        log_px = torch.logsumexp(log_weights, dim=0) - math.log(samples)
        total += float(-log_px.sum())
    return total / max(1, len(images))


def model_metrics(model: Autoencoder, test: Dataset, train: Dataset,
                  denoise_sigma: float = DENOISE_SIGMA, iw_samples: int = IW_SAMPLES,
                  seed: int = 0) -> dict[str, float]:
    """Everything the table shows for one model: `evaluate_model`'s figures with probes and
    denoising, the squared error per image, and for a BCE VAE the importance-weighted -log p(x).
    """
    from ae_core.evaluate import evaluate_model

    metrics = evaluate_model(model, test, train, probes=True, denoise_sigma=denoise_sigma,
                             seed=seed)
    metrics["squared_error_per_image"] = metrics["mse_per_pixel"] * INPUT_SIZE
    if denoise_sigma:
        metrics["denoise_sigma"] = float(denoise_sigma)
    if (model.is_variational and iw_samples > 0
            and model.config.recon_loss == "bce"):
        metrics["iwae_nll"] = importance_weighted_nll(
            model, test.float_images(), test.labels, iw_samples, seed=seed)
        metrics["iwae_samples"] = float(iw_samples)
    return metrics


def pca_metrics(train: Dataset, test: Dataset, components: int) -> dict[str, float]:
    """PCA with `components` axes fitted on `train`: reconstruction error of `test` and how
    well a linear probe and k-NN read the classes from its PCA coordinates."""
    from ae_core.metrics import fit_pca, knn_accuracy, linear_probe_accuracy

    train_rows = train.float_images().flatten(1).numpy()
    test_rows = test.float_images().flatten(1).numpy()
    pca = fit_pca(train_rows, components)
    components = pca.n_components_
    train_codes, test_codes = pca.transform(train_rows), pca.transform(test_rows)
    recon = np.clip(pca.inverse_transform(test_codes), 0.0, 1.0)
    mse = ((recon - test_rows) ** 2).mean(axis=1)
    args = (train_codes, train.labels.numpy(), test_codes, test.labels.numpy())
    return {"components": float(components), "mse_per_pixel": float(mse.mean()),
            "psnr_db": float((-10 * np.log10(np.maximum(mse, 1e-10))).mean()),
            "squared_error_per_image": float(mse.mean() * INPUT_SIZE),
            "linear_probe_accuracy": linear_probe_accuracy(*args),
            "knn_accuracy": knn_accuracy(*args)}


@dataclass
class QualityRow:
    """One checkpoint's measured figures."""

    name: str
    family: str
    code_size: int  # numbers in the code (positions x dimension for a VQ-VAE)
    trained_on: str  # e.g. "mnist-embedded/train (4,500)"
    training: str  # the settings that matter, e.g. "120 epochs, bce, batch 64"
    metrics: dict[str, float]
    pca_key: tuple[str, int]  # (training set, components) of its PCA baseline


@dataclass
class QualityReport:
    rows: list[QualityRow]
    pca: dict[tuple[str, int], dict[str, float]]  # (training set, components) -> figures
    test_name: str
    test_count: int
    seconds: float
    skipped: list[str] = field(default_factory=list)  # "name: why" of unreadable checkpoints
    ood_name: str = ""  # the other dataset of the out-of-distribution AUC ("" if absent)
    # The models trained on another kind of images, each scored on its own test set
    # (Fashion-MNIST models on Fashion-MNIST's), in reports of their own.
    others: list[QualityReport] = field(default_factory=list)


def load_test_set(source: str | Path) -> Dataset:
    """The test digits: a folder of t10k idx files, or `mnist` / `fashion-mnist`."""
    if str(source) == "mnist-embedded":
        raise DataError("the quality table needs a real test set: point --dataset at a folder "
                        "with t10k-images-idx3-ubyte(.gz) and t10k-labels-idx1-ubyte(.gz)")
    from ae_core.own_images import is_own_images

    if (not Path(source).is_dir() and str(source) not in ("mnist", "fashion-mnist")
            and not is_own_images(source)):  # an .npz or .zip of your own images
        raise DataError(f"{source}: no such folder; the MNIST test set is the t10k idx files "
                        f"(e.g. ../shared/data/mnist)")
    return evaluation_set(str(source))


def _training_summary(train_config: TrainConfig | None) -> str:
    if train_config is None:
        return "unknown"
    parts = [f"{train_config.epochs} epochs", f"batch {train_config.batch_size}",
             f"lr {train_config.lr:g}" + (f" {train_config.lr_schedule}"
                                         if train_config.lr_schedule != "none" else "")]
    if train_config.denoising:
        parts.append(f"{train_config.noise_kind} noise {train_config.noise_level:g}")
    if train_config.weight_decay:
        parts.append(f"wd {train_config.weight_decay:g}")
    if train_config.kl_warmup_epochs:
        parts.append(f"KL warm-up {train_config.kl_warmup_epochs}")
    if train_config.augment_shift:
        parts.append(f"random shifts up to {train_config.augment_shift} px")
    return ", ".join(parts)


def _other_test_set(kind: str) -> Dataset | None:
    """The test set of the kind's out-of-distribution partner (ae_core.kinds: Fashion-MNIST's
    for digits, MNIST's for clothes), or None when it is not on this machine."""
    try:
        return load_set(get_kind(get_kind(kind).partner).test)
    except (DataError, ValueError):
        return None


def quality_report(checkpoint_folder: Path | str, test: Dataset,
                   denoise_sigma: float = DENOISE_SIGMA, iw_samples: int = IW_SAMPLES,
                   progress: Callable[[str], None] | None = None) -> QualityReport:
    """Score every checkpoint in `checkpoint_folder` on `test`, with PCA fitted on the digits
    each model was trained on (its config's training split, never the test set). A model
    trained on another kind of images (Fashion-MNIST) is scored on that kind's test set, in
    `others`; each model's out-of-distribution AUC is measured against the other kind."""
    started = time.perf_counter()
    paths = list_checkpoints(checkpoint_folder)
    if not paths:
        raise FileNotFoundError(f"{checkpoint_folder}: no *.safetensors checkpoints")
    by_kind: dict[str, list[Path]] = {}
    for path in paths:
        config = load_checkpoint(path).train_config or TrainConfig()
        by_kind.setdefault(config.kind, []).append(path)
    report = _score(by_kind.pop(test.kind, []), test, denoise_sigma, iw_samples, progress)
    for kind, kind_paths in sorted(by_kind.items()):
        try:
            kind_test = evaluation_set(kind)
        except DataError as error:
            report.skipped += [f"{path.stem}: no {kind} test set here ({error})"
                               for path in kind_paths]
            continue
        report.others.append(_score(kind_paths, kind_test, denoise_sigma, iw_samples,
                                    progress))
    report.seconds = time.perf_counter() - started
    return report


def _score(paths: list[Path], test: Dataset, denoise_sigma: float, iw_samples: int,
           progress: Callable[[str], None] | None) -> QualityReport:
    """The rows of `paths`, every model scored on `test`."""
    from ae_core.anomaly import OOD_COUNT, ood_auc

    started = time.perf_counter()
    other = _other_test_set(test.kind)
    training_sets: dict[tuple, Dataset] = {}
    rows, pca, skipped = [], {}, []
    for path in paths:
        if progress is not None:
            progress(path.stem)
        checkpoint = load_checkpoint(path)
        train_config = checkpoint.train_config or TrainConfig()
        data_key = (train_config.dataset, train_config.val_fraction, train_config.seed,
                    train_config.exclude_classes)
        try:
            if data_key not in training_sets:
                training_sets[data_key] = prepare_data(train_config)[0]
        except DataError as error:
            skipped.append(f"{path.stem}: its training data is not here ({error})")
            continue
        train = training_sets[data_key]
        metrics = model_metrics(checkpoint.model, test, train, denoise_sigma, iw_samples)
        if other is not None and not checkpoint.model.is_conditional:
            # A conditional model needs each image's class, which a stranger does not have.
            metrics["ood_auc"] = ood_auc(checkpoint.model, test, other)
            metrics["ood_count"] = float(min(OOD_COUNT, len(test), len(other)))
        components = int(metrics["pca_components"])
        pca_key = (train.name, components)
        if pca_key not in pca:
            pca[pca_key] = pca_metrics(train, test, components)
        rows.append(QualityRow(
            name=path.stem, family=checkpoint.model_config.family,
            code_size=int(checkpoint.model.latent_dim),
            trained_on=f"{train.name} ({len(train):,})",
            training=_training_summary(checkpoint.train_config),
            metrics=metrics, pca_key=pca_key))
    return QualityReport(rows, pca, test.name, len(test), time.perf_counter() - started,
                         skipped, other.name if other is not None else "")
