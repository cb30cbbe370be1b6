"""Sweeps and side-by-side comparisons: denoising against noise level, error against code size.

Each sweep takes a `progress(fraction, message)` callback and knows no UI: the CLI could print
it, a page drives `st.progress` with it.
"""

from __future__ import annotations

import dataclasses
import functools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from ae_core.config import ModelConfig, TrainConfig
from ae_core.latent import encode_dataset, model_device
from ae_core.metrics import fit_pca, psnr, ssim
from ae_core.models import Autoencoder
from ae_core.noise import corrupt
from ae_core.train import Progress, ReportProgress, StepReport, train_model


@dataclass
class Denoised:
    """Reconstructions of corrupted digits and how close they come to the clean ones."""

    recon: torch.Tensor  # (B, 1, 28, 28) in [0, 1]
    psnr: torch.Tensor  # (B,) dB against the clean digits
    ssim: torch.Tensor  # (B,)


@torch.inference_mode()
def denoise(model: Autoencoder, clean: torch.Tensor, corrupted: torch.Tensor,
            labels: torch.Tensor | None = None) -> Denoised:
    """(B, 1, 28, 28) clean and corrupted digits -> the model's reconstruction of the
    corrupted ones, scored against the clean ones."""
    model.eval()
    device = model_device(model)
    if labels is None:
        labels = torch.zeros(len(clean), dtype=torch.long)
    recon = model.reconstruct(corrupted.to(device), labels.to(device)).float().cpu()
    return Denoised(recon, psnr(clean, recon), ssim(clean, recon))


def noise_levels(kind: str, count: int = 8) -> np.ndarray:
    """(count,) evenly spaced levels up to one that ruins a digit, for a PSNR-against-noise
    curve; level 0 is left out (a clean input's PSNR is infinite)."""
    top = {"gaussian": 0.8, "salt_pepper": 0.5, "mask": 0.5}.get(kind, 0.5)
    return np.linspace(0.0, top, count + 1)[1:]


def corrupted_copies(images: torch.Tensor, kind: str, levels: Sequence[float],
                     seed: int = 0, clip: bool = True) -> list[torch.Tensor]:
    """One corrupted copy of (N, 1, 28, 28) images per level; the same seed, the same noise,
    so every model in a comparison sees identical inputs."""
    return [corrupt(images, kind, float(level), torch.Generator().manual_seed(seed + index),
                    clip) for index, level in enumerate(levels)]


@torch.inference_mode()
def psnr_against_noise(model: Autoencoder, images: torch.Tensor, labels: torch.Tensor,
                       copies: Sequence[torch.Tensor]) -> np.ndarray:
    """(L,) mean PSNR (dB) of the model's reconstructions of each corrupted copy."""
    return np.array([float(denoise(model, images, noisy, labels).psnr.mean())
                     for noisy in copies])


def input_psnr(images: torch.Tensor, copies: Sequence[torch.Tensor]) -> np.ndarray:
    """(L,) mean PSNR (dB) of the corrupted inputs themselves: what doing nothing scores."""
    return np.array([float(psnr(images, noisy).clamp_max(100.0).mean()) for noisy in copies])


def reconstruction_mse(model: Autoencoder, images: torch.Tensor,
                       labels: torch.Tensor) -> float:
    """Mean squared error per pixel of the model's reconstructions of (N, 1, 28, 28) images."""
    return float(encode_dataset(model, images, labels).errors.mean())


@torch.inference_mode()
def code_width(model: Autoencoder) -> int:
    """How many numbers the model's code holds (a VQ-VAE's grid: positions x dimension)."""
    model.eval()
    blank = torch.zeros(1, 1, 28, 28, device=model_device(model))
    return int(model.embed(blank, torch.zeros(1, dtype=torch.long, device=blank.device)
                           ).flatten(1).shape[1])


def pca_curve(train_images: torch.Tensor, test_images: torch.Tensor,
              components: Sequence[int]) -> np.ndarray:
    """(K,) test MSE per pixel of PCA with each number of components, fitted on train.

    One fit with the most components serves every size (its first k axes); reconstructions
    are clipped to [0, 1] like an image (as ae_core.metrics.pca_baseline_mse does).
    """
    pca = fit_pca(train_images, max(int(count) for count in components))
    axes = torch.from_numpy(pca.components_)  # (K, P), most variance first
    mean = torch.from_numpy(pca.mean_)
    test = test_images.flatten(1).double().cpu()
    errors = []
    for count in components:
        basis = axes[:max(1, min(int(count), len(axes)))]
        recon = ((test - mean) @ basis.T @ basis + mean).clamp(0.0, 1.0)
        errors.append(float((recon - test).pow(2).mean()))
    return np.array(errors)


@dataclass
class BottleneckPoint:
    """One trained model of a bottleneck sweep."""

    latent_dim: int
    mse: float  # test MSE per pixel of the autoencoder
    seconds: float
    model: Autoencoder


def _sweep_message(latent_dim: int, report: StepReport) -> str:
    return f"latent size {latent_dim}: epoch {report.epoch}/{report.epochs}"


def bottleneck_sweep(latent_dims: Sequence[int], model_config: ModelConfig,
                     train_config: TrainConfig, test_images: torch.Tensor,
                     test_labels: torch.Tensor, progress: Progress | None = None,
                     should_stop: Callable[[], bool] | None = None,
                     progress_seconds: float = 0.0) -> list[BottleneckPoint]:
    """Train one fresh model per latent size (the rest of `model_config` fixed) and score each
    on the test digits; stops between models when `should_stop()` says so. `progress` hears
    the fraction of the whole sweep at most every `progress_seconds` (see ReportProgress)."""
    dims = sorted({int(dim) for dim in latent_dims})
    if not dims:
        raise ValueError("latent_dims is empty: pick at least one latent size")
    points: list[BottleneckPoint] = []
    for index, dim in enumerate(dims):
        if should_stop is not None and should_stop():
            break
        started = time.perf_counter()
        callbacks = []
        if progress is not None:  # model `index` of the sweep fills its share of the bar
            span = (index / len(dims), (index + 1) / len(dims))
            callbacks.append(ReportProgress(progress, functools.partial(_sweep_message, dim),
                                            progress_seconds, span))
        result = train_model(dataclasses.replace(model_config, latent_dim=dim), train_config,
                             callbacks, should_stop)
        mse = reconstruction_mse(result.model, test_images, test_labels)
        points.append(BottleneckPoint(dim, mse, time.perf_counter() - started, result.model))
    if progress is not None:
        progress(1.0, f"trained {len(points)} of {len(dims)} models")
    return points
