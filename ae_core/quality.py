"""The quality table: every checkpoint in a folder scored on a test set, beside PCA and the
published figures it is compared with (`python -m ae_core quality`).

One function, `model_metrics`, scores a model; the training script stores its result in each
shipped checkpoint and `quality_report` recomputes it from the files, so the table never
trusts numbers it did not measure.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ae_core.checkpoint import list_checkpoints, load_checkpoint, read_metadata
from ae_core.config import INPUT_SIZE, TrainConfig
from ae_core.data import DataError, Dataset, evaluation_set
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
    from sklearn.decomposition import PCA

    from ae_core.metrics import knn_accuracy, linear_probe_accuracy

    train_rows = train.float_images().flatten(1).numpy()
    test_rows = test.float_images().flatten(1).numpy()
    components = max(1, min(components, *train_rows.shape))
    pca = PCA(n_components=components, svd_solver="randomized", random_state=0).fit(train_rows)
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


def load_test_set(source: str | Path) -> Dataset:
    """The test digits: a folder of t10k idx files, or `mnist` / `fashion-mnist`."""
    if str(source) == "mnist-embedded":
        raise DataError("the quality table needs a real test set: point --dataset at a folder "
                        "with t10k-images-idx3-ubyte(.gz) and t10k-labels-idx1-ubyte(.gz)")
    if not Path(source).is_dir() and str(source) not in ("mnist", "fashion-mnist"):
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


def quality_report(checkpoint_folder: Path | str, test: Dataset,
                   denoise_sigma: float = DENOISE_SIGMA, iw_samples: int = IW_SAMPLES,
                   progress: Callable[[str], None] | None = None) -> QualityReport:
    """Score every checkpoint in `checkpoint_folder` on `test`, with PCA fitted on the digits
    each model was trained on (its config's training split, never the test set)."""
    started = time.perf_counter()
    paths = list_checkpoints(checkpoint_folder)
    if not paths:
        raise FileNotFoundError(f"{checkpoint_folder}: no *.safetensors checkpoints")
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
                         skipped)


# --- Targets of issue 6, checked on the rows by checkpoint name ---------------------------

@dataclass
class Target:
    description: str
    reached: str  # what was measured, in words
    met: bool | None  # None: the checkpoint it needs is not in the table


def check_targets(report: QualityReport) -> list[Target]:
    rows = {row.name: row.metrics for row in report.rows}
    ae, conv, dae = rows.get("ae_32"), rows.get("conv_ae_32"), rows.get("dae_32")
    targets = []
    description = "32-D MLP AE (ae_32): test MSE at most 0.6 x PCA-32's"
    if ae is None:
        targets.append(Target(description, "ae_32 not in the folder", None))
    else:
        ratio = ae["mse_ratio_to_pca"]
        targets.append(Target(description, f"{ae['mse_per_pixel']:.5f} vs PCA "
                              f"{ae['pca_mse_per_pixel']:.5f}: {ratio:.3f} x", ratio <= 0.6))
    description = "Convolutional AE better than the MLP AE of the same latent size (32)"
    if ae is None or conv is None:
        targets.append(Target(description, "ae_32 or conv_ae_32 not in the folder", None))
    else:
        targets.append(Target(description, f"MSE {conv['mse_per_pixel']:.5f} vs "
                              f"{ae['mse_per_pixel']:.5f}",
                              conv["mse_per_pixel"] < ae["mse_per_pixel"]))
    description = "Denoising AE (dae_32) raises PSNR by at least 6 dB at Gaussian sigma 0.5"
    if dae is None or dae.get("denoise_sigma") != 0.5:
        targets.append(Target(description, "dae_32 not scored at sigma 0.5", None))
    else:
        gain = dae["denoised_psnr_db"] - dae["noisy_psnr_db"]
        targets.append(Target(description, f"{dae['noisy_psnr_db']:.2f} dB noisy -> "
                              f"{dae['denoised_psnr_db']:.2f} dB: +{gain:.2f} dB", gain >= 6))
    description = "Linear-probe accuracy of the 32-D codes (ae_32) at least 90 %"
    if ae is None:
        targets.append(Target(description, "ae_32 not in the folder", None))
    else:
        accuracy = ae["linear_probe_accuracy"]
        targets.append(Target(description, f"{accuracy:.2%}", accuracy >= 0.9))
    return targets


# --- Markdown ------------------------------------------------------------------------------

# (source, model and settings, published figure on the MNIST test set, our closest row)
REFERENCES = (
    ("pytorch/examples, `vae/main.py` (https://github.com/pytorch/examples/tree/main/vae)",
     "VAE 784-400-20-400-784, ReLU, Adam 1e-3, batch 128, **10 epochs on all 60,000 "
     "digits**, BCE summed over grey-level pixels + KL",
     "test loss (negative ELBO, 1 sample) **about 105.6 nats** (the figure quoted in issue 6; "
     "a port of the example says \"around 104\")",
     "`vae_20`: −ELBO column"),
    ("Hinton & Salakhutdinov 2006, *Science* 313:504, fig. 2",
     "deep AE 784-1000-500-250-**30** with RBM pre-training, then fine-tuning; 60,000 "
     "training digits",
     "average squared error per image **3.00**; logistic PCA 8.01; **PCA with 30 components "
     "13.87**",
     "`ae_32` and PCA-32: squared error / image"),
)


def markdown_references() -> str:
    lines = ["| source | model and settings | published figure (MNIST test set) | ours |",
             "|---|---|---|---|"]
    lines += ["| " + " | ".join(row) + " |" for row in REFERENCES]
    return "\n".join(lines) + "\n"


REFERENCE_NOTES = """\
How to read the comparison:

- The references trained on all 60,000 MNIST training digits; the shipped models saw the
  4,500 digits of the embedded set's training split (500 held out for validation), 13 times
  fewer. On the same test set this costs generalisation: read our figures as what a
  classroom laptop gets in minutes, not a state of the art.
- Squared error per image = 784 x the MSE per pixel (pixels in [0, 1]), the unit of Hinton &
  Salakhutdinov's figure 2. Their deep AE had 30 code units, ours 32.
- The negative ELBO and the importance-weighted -log p(x) use BCE on grey levels, like
  pytorch/examples; that "likelihood" is not a normalised density for non-binary pixels
  (Loaiza-Ganem & Cunningham 2019), so these nats compare only with other grey-level BCE
  figures, never with the ~80-90 nats of papers on binarised MNIST.
- PCA is fitted on the same training digits as the model, with as many components as the
  code has numbers. A VQ-VAE's code is discrete (its information is positions x log2 of the
  codebook size bits), so PCA with as many real numbers is not a like-for-like baseline there.
- A conditional VAE's code is meant to hold style, not class (the decoder is given the
  label), so a low probe accuracy on its codes is what it is supposed to show.
"""


def _number(value: float | None, decimals: int = 4, percent: bool = False) -> str:
    if value is None or not math.isfinite(value):
        return "–"
    return f"{value:.1%}" if percent else f"{value:.{decimals}f}"


def markdown_tables(report: QualityReport) -> str:
    """The reconstruction table, the likelihood/codes table and the PCA baselines."""
    lines = [
        "### Reconstruction",
        "",
        "| model | family | code | trained on | MSE / pixel | PSNR (dB) | squared error / "
        "image | PCA same size: MSE / pixel | MSE ratio to PCA | PSNR at noise σ "
        f"{report.rows[0].metrics.get('denoise_sigma', DENOISE_SIGMA) if report.rows else ''}"
        ": input → output (dB) |",
        "|---|---|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for row in report.rows:
        m = row.metrics
        denoise = (f"{m['noisy_psnr_db']:.2f} → {m['denoised_psnr_db']:.2f}"
                   if "denoised_psnr_db" in m else "–")
        lines.append(
            f"| `{row.name}` | {row.family} | {row.code_size} | {row.trained_on} | "
            f"{_number(m.get('mse_per_pixel'), 5)} | {_number(m.get('psnr_db'), 2)} | "
            f"{_number(m.get('squared_error_per_image'), 2)} | "
            f"{_number(m.get('pca_mse_per_pixel'), 5)} | {_number(m.get('mse_ratio_to_pca'), 3)} "
            f"| {denoise} |")
    iw = next((int(row.metrics["iwae_samples"]) for row in report.rows
               if "iwae_samples" in row.metrics), IW_SAMPLES)
    lines += [
        "",
        "### Likelihood and codes",
        "",
        f"| model | −ELBO (nats, 1 sample) | −log p(x) (nats, IWAE k={iw}) | KL (nats) | "
        "linear probe | k-NN (k=5) | PCA same size: linear probe | PCA same size: k-NN | "
        "training |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for row in report.rows:
        m, p = row.metrics, report.pca.get(row.pca_key, {})
        lines.append(
            f"| `{row.name}` | {_number(m.get('neg_elbo'), 1)} | {_number(m.get('iwae_nll'), 1)}"
            f" | {_number(m.get('kl_loss'), 1)} | "
            f"{_number(m.get('linear_probe_accuracy'), percent=True)} | "
            f"{_number(m.get('knn_accuracy'), percent=True)} | "
            f"{_number(p.get('linear_probe_accuracy'), percent=True)} | "
            f"{_number(p.get('knn_accuracy'), percent=True)} | {row.training} |")
    lines += [
        "",
        "### PCA baselines (fitted on the training digits, scored on the test set)",
        "",
        "| fitted on | components | MSE / pixel | PSNR (dB) | squared error / image | "
        "linear probe | k-NN (k=5) |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for (train_name, components), p in sorted(report.pca.items(), key=lambda item: item[0]):
        lines.append(
            f"| {train_name} | {components} | {_number(p['mse_per_pixel'], 5)} | "
            f"{_number(p['psnr_db'], 2)} | {_number(p['squared_error_per_image'], 2)} | "
            f"{_number(p['linear_probe_accuracy'], percent=True)} | "
            f"{_number(p['knn_accuracy'], percent=True)} |")
    if report.skipped:
        lines += ["", "Not scored: " + "; ".join(report.skipped)]
    return "\n".join(lines) + "\n"


def markdown_targets(report: QualityReport) -> str:
    marks = {True: "met", False: "**missed**", None: "not checked"}
    lines = ["| target | measured | result |", "|---|---|---|"]
    targets = check_targets(report)
    lines += [f"| {t.description} | {t.reached} | {marks[t.met]} |" for t in targets]
    if any(t.met is False for t in targets):
        lines += ["", "A missed target is reported as measured, not tuned away: the settings "
                  "tried for it, with their test figures, are listed in "
                  "`scripts/train_checkpoints.py` (the comment above `MLP_TRAIN`)."]
    return "\n".join(lines) + "\n"


STORAGE_NOTES = """\
Weights are stored in float16 (half the bytes; every metric above and in the files' metadata is
measured after that rounding, so it describes the file). Beside the weights each file carries,
in `extras`, the default UMAP map (15 neighbours, min_dist 0.1, seed 0) of the 5,000 embedded
digits' codes, float16 (5000 x 2, 20 kB, key `umap_embedded_15_0.1`; for a 2-D model it is
the code itself, which the map shows as it is). UMAP takes tens of
seconds in a fresh process (import, numba compiling, fitting), far past the 3 s the latent map
may take, so it is computed once by `scripts/train_checkpoints.py`. The codes themselves and
PCA are recomputed when a page needs them (and cached): on 2 CPU cores encoding the 5,000
digits takes about 0.07 s for an MLP and about 1 s for the convolutional models, PCA 10 ms
(0.3 s for the VQ-VAE's 392-number codes; `benchmarks/README.md`), while storing the codes
would cost 320 kB per 32-D model in float16 and 3.9 MB for the VQ-VAE.
"""


def markdown_files(checkpoint_folder: Path | str) -> str:
    """Size, storage and precomputed extras of each file in the folder."""
    from safetensors import safe_open

    lines = ["| file | size (MB) | weights | precomputed extras | training time |",
             "|---|---:|---|---|---:|"]
    total = 0
    for path in list_checkpoints(checkpoint_folder):
        info = read_metadata(path).get("info", {})
        with safe_open(str(path), framework="pt") as reader:
            extras = [f"`{name.removeprefix('extra.')}` {list(reader.get_slice(name).get_shape())}"
                      for name in reader.keys() if name.startswith("extra.")]
        size = path.stat().st_size
        total += size
        seconds = info.get("train_seconds")
        lines.append(f"| `{path.name}` | {size / 1e6:.2f} | {info.get('storage_dtype', '?')} | "
                     f"{', '.join(extras) or '–'} | "
                     f"{f'{seconds:.0f} s' if seconds is not None else '–'} |")
    lines.append(f"| **all** | **{total / 1e6:.2f}** (limit 25 MB) | | | |")
    return "\n".join(lines) + "\n"


def markdown_document(report: QualityReport, command: str,
                      checkpoint_folder: Path | str | None = None) -> str:
    """The whole docs page: how it was made, the tables, the targets, the references."""
    created = datetime.now(UTC).strftime("%Y-%m-%d")
    return "\n".join([
        "# Quality of the shipped models",
        "",
        f"Generated by `{command}` on {created} ({report.seconds:.0f} s): every checkpoint in "
        f"the folder scored on **{report.test_name}** ({report.test_count:,} digits). Nothing "
        "here is copied from the checkpoints' metadata; each figure is measured again from "
        "the weights. MSE and PSNR are of the deterministic reconstruction (a VAE decodes its "
        "posterior mean); PSNR is the mean over digits of each digit's PSNR (peak 1). Probes "
        "are trained on the codes of the model's own training digits and scored on the test "
        "digits' codes (logistic regression on standardised codes; 5-nearest-neighbour vote). "
        "Noise for the last column is drawn with a fixed seed and clipped to [0, 1].",
        "",
        markdown_tables(report),
        "## Targets (issue 6), for models trained on the embedded 5,000 digits",
        "",
        markdown_targets(report),
        "## Published reference figures",
        "",
        markdown_references(),
        REFERENCE_NOTES,
        *(["## The files", "", markdown_files(checkpoint_folder), STORAGE_NOTES]
          if checkpoint_folder is not None else []),
    ])
