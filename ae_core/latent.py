"""Latent tools: pure functions on tensors, under inference mode, shapes in comments."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from ae_core.models import Autoencoder

INTERPOLATIONS = ("linear", "slerp")


@dataclass
class EncodedSet:
    """Codes and reconstruction errors of a whole dataset, on the CPU."""

    codes: torch.Tensor  # (N, D) deterministic codes (`embed`)
    errors: torch.Tensor  # (N,) mean squared error per pixel of each reconstruction
    labels: torch.Tensor  # (N,)


def model_device(model: Autoencoder) -> torch.device:
    return next(model.parameters()).device


@torch.inference_mode()
def encode_dataset(model: Autoencoder, images: torch.Tensor, labels: torch.Tensor,
                   batch_size: int = 1000,
                   progress: Callable[[float], None] | None = None) -> EncodedSet:
    """(N, 1, 28, 28) floats in [0, 1], or (N, 28, 28) uint8 -> codes (N, D) and per-image
    errors (N,), `batch_size` images at a time; `progress(fraction)` after each batch.

    uint8 images are converted batch by batch, so 70,000 of them never sit in memory as
    floats (220 MB). Runs in eval mode and leaves the model in the mode it found it (a
    training callback may call this between epochs).
    """
    if batch_size < 1:
        raise ValueError(f"batch_size={batch_size!r} must be at least 1")
    was_training = model.training
    model.eval()
    device = model_device(model)
    codes, errors = [], []
    for start in range(0, len(images), batch_size):
        x = images[start:start + batch_size].to(device)
        if x.dtype == torch.uint8:
            x = x.unsqueeze(1).float().div_(255.0)
        y = labels[start:start + batch_size].to(device)
        code = model.embed(x, y)
        recon = model.decode(code, y)
        codes.append(code.float().cpu())
        errors.append((recon - x).pow(2).flatten(1).mean(dim=1).cpu())
        if progress is not None:
            progress(min(1.0, (start + len(x)) / len(images)))
    model.train(was_training)
    return EncodedSet(torch.cat(codes), torch.cat(errors), labels.cpu())


@torch.inference_mode()
def interpolate(z0: torch.Tensor, z1: torch.Tensor, steps: int,
                method: str = "linear") -> torch.Tensor:
    """(D,), (D,) -> (steps, D) codes from z0 to z1, both ends included.

    slerp follows the great circle (Shoemake 1985; White 2016 for latent spaces), keeping the
    norm that Gaussian codes concentrate at instead of cutting through the low-density middle:
    the direction moves along the circle and the length changes linearly, so every code's norm
    lies between the ends' norms.
    """
    if method not in INTERPOLATIONS:
        raise ValueError(f"method={method!r} is not one of {', '.join(INTERPOLATIONS)}")
    if steps < 2:
        raise ValueError(f"steps={steps!r} must be at least 2 (the two ends)")
    t = torch.linspace(0.0, 1.0, steps, device=z0.device).unsqueeze(1)  # (steps, 1)
    if method == "slerp" and min(z0.norm(), z1.norm()) > 1e-8:
        norm0, norm1 = z0.norm(), z1.norm()
        unit0, unit1 = z0 / norm0, z1 / norm1
        # The angle by atan2 of the parallel and orthogonal parts: arccos of the dot product
        # loses precision near 0 and pi in float32.
        cos_omega = (unit0 * unit1).sum().clamp(-1.0, 1.0)
        across = unit1 - cos_omega * unit0  # (D,) the part of unit1 orthogonal to unit0
        sin_omega = across.norm()
        omega = torch.atan2(sin_omega, cos_omega)
        if sin_omega > 1e-6:
            across = across / sin_omega
            # Once more: when unit1 is nearly +-unit0, rounding leaves a little of unit0 in it.
            across = across - (across * unit0).sum() * unit0
            across = across / across.norm()
        elif z0.numel() > 1:  # the same or opposite directions: any great circle will do
            axis = torch.zeros_like(unit0)
            axis[unit0.abs().argmin()] = 1.0
            across = axis - (axis * unit0).sum() * unit0
            across = across / across.norm()
        elif cos_omega > 0:  # one dimension, the same sign: the direction never changes
            across = torch.zeros_like(unit0)
        else:  # one dimension, opposite signs: the line through zero is the only path
            return (1 - t) * z0 + t * z1
        directions = torch.cos(t * omega) * unit0 + torch.sin(t * omega) * across
        path = directions * ((1 - t) * norm0 + t * norm1)
        path[0], path[-1] = z0, z1  # the ends exactly, not up to rounding
        return path
    return (1 - t) * z0 + t * z1


@torch.inference_mode()
def interpolate_pixels(x0: torch.Tensor, x1: torch.Tensor, steps: int) -> torch.Tensor:
    """(1, 28, 28), (1, 28, 28) -> (steps, 1, 28, 28): the cross-fade a latent path improves on."""
    t = torch.linspace(0.0, 1.0, steps, device=x0.device).view(-1, 1, 1, 1)
    return (1 - t) * x0 + t * x1


@torch.inference_mode()
def traverse(z: torch.Tensor, dimension: int, values: torch.Tensor) -> torch.Tensor:
    """(D,) code, one dimension, (S,) values -> (S, D) codes with that dimension swept."""
    if not 0 <= dimension < z.shape[-1]:
        raise ValueError(f"dimension {dimension} is outside 0..{z.shape[-1] - 1}")
    codes = z.unsqueeze(0).repeat(len(values), 1)
    codes[:, dimension] = values.to(codes)
    return codes


@torch.inference_mode()
def code_ranges(codes: torch.Tensor, spread: float = 3.0,
                quantile: float = 0.005) -> tuple[torch.Tensor, torch.Tensor]:
    """(N, D) codes -> per-dimension (low, high) slider bounds from the real codes' spread.

    The central 99 % of the codes widened a little, so sliders cover what the data uses and a
    bit beyond, never an arbitrary [-3, 3] that a sparse or ReLU code never reaches. The
    widening stops at `spread` standard deviations from the mean; the central 99 % itself is
    always covered, even for a skewed code whose tail reaches past that.
    """
    codes = codes.float()
    low = torch.quantile(codes, quantile, dim=0)
    high = torch.quantile(codes, 1 - quantile, dim=0)
    margin = 0.1 * (high - low) + 1e-3
    std = codes.std(dim=0, unbiased=False)
    mean = codes.mean(dim=0)
    low = torch.minimum(low - 1e-3, torch.maximum(low - margin, mean - spread * std - 1e-3))
    high = torch.maximum(high + 1e-3, torch.minimum(high + margin, mean + spread * std + 1e-3))
    return low, high


@torch.inference_mode()
def dimension_importance(model: Autoencoder, images: torch.Tensor,
                         labels: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
    """(D,) how much each code dimension matters: mean KL for a VAE, variance otherwise."""
    if model.is_variational:
        device = model_device(model)
        posterior = model.posterior(images.to(device), labels.to(device))
        return posterior.kl_per_dimension().mean(dim=0).cpu()
    return codes.float().var(dim=0, unbiased=False)


@torch.inference_mode()
def sample_codes(codes: torch.Tensor, count: int,
                 generator: torch.Generator | None = None,
                 temperature: float = 1.0) -> torch.Tensor:
    """(N, D) codes -> (count, D) draws from a Gaussian fitted to them (mean and covariance).

    For models without a prior: a draw lands where real codes lie, correlations included,
    not in a corner of the box the per-dimension ranges span. The SVD copes with dead units.
    `temperature` scales the spread about the mean (0: the mean itself).
    """
    codes = codes.float()
    mean = codes.mean(dim=0)
    _, singular, axes = torch.linalg.svd(codes - mean, full_matrices=False)  # axes: (K, D)
    scale = singular / max(1, len(codes) - 1) ** 0.5
    noise = torch.randn(count, len(scale), generator=generator)
    return mean + (temperature * noise * scale) @ axes


@torch.inference_mode()
def manifold_grid(low: tuple[float, float], high: tuple[float, float],
                  size: int) -> torch.Tensor:
    """(size*size, 2) codes on a grid over a 2-D latent, rows from high y to low y."""
    xs = torch.linspace(low[0], high[0], size)
    ys = torch.linspace(high[1], low[1], size)
    grid_y, grid_x = torch.meshgrid(ys, xs, indexing="ij")
    return torch.stack([grid_x.flatten(), grid_y.flatten()], dim=1)


@torch.inference_mode()
def nearest_neighbours(codes: torch.Tensor, query: torch.Tensor, count: int) -> torch.Tensor:
    """(N, D) codes, (D,) query -> (count,) indices of the closest codes, nearest first."""
    distances = (codes.float() - query.float()).pow(2).sum(dim=1)
    return torch.topk(distances, min(count, len(codes)), largest=False).indices


@torch.inference_mode()
def decode_codes(model: Autoencoder, codes: torch.Tensor,
                 labels: torch.Tensor | None = None) -> torch.Tensor:
    """(S, D) codes -> (S, 1, 28, 28) images in [0, 1], on the CPU."""
    device = model_device(model)
    if labels is not None:
        labels = labels.to(device)
    return model.decode(codes.to(device), labels).cpu()
