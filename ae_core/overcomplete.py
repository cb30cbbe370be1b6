"""Does an overcomplete code copy its input? Feed the model noise it never saw: a model that
learned the identity gives the noise back, one that learned digits gives back something else
(a black image, a digit-like blur).

Pure functions on tensors, plus `compare_regularisers`, which trains one model per
regulariser (tutorial 003: an overcomplete autoencoder "requires regularization to prevent
trivial solutions") and measures each on test digits.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ae_core.config import IMAGE_SHAPE, ModelConfig, TrainConfig
from ae_core.data import Dataset
from ae_core.latent import encode_dataset
from ae_core.models import Autoencoder
from ae_core.sparsity import fraction_inactive
from ae_core.train import train_model

NOISE_SEED = 0  # the same noise images for every model, so their figures compare


def noise_images(count: int, seed: int = NOISE_SEED) -> torch.Tensor:
    """(count, 1, 28, 28) pixels drawn uniformly from [0, 1]: nothing like a digit."""
    generator = torch.Generator().manual_seed(seed)
    return torch.rand(count, *IMAGE_SHAPE, generator=generator)


def correlation(inputs: torch.Tensor, outputs: torch.Tensor) -> torch.Tensor:
    """(N, ...) and (N, ...) -> (N,) Pearson correlation of each input's pixels with its
    output's (0 for an output that does not vary: a constant says nothing about the input)."""
    a = inputs.flatten(1) - inputs.flatten(1).mean(dim=1, keepdim=True)
    b = outputs.flatten(1) - outputs.flatten(1).mean(dim=1, keepdim=True)
    norms = a.norm(dim=1) * b.norm(dim=1)
    return torch.where(norms > 0, (a * b).sum(dim=1) / norms.clamp_min(1e-12),
                       torch.zeros_like(norms))


@dataclass
class Passthrough:
    """How much of an input comes back out of the model."""

    correlation: float  # mean over images of the input-output pixel correlation (1: a copy)
    mse: float  # mean squared error per pixel


@torch.inference_mode()
def reconstruct(model: Autoencoder, images: torch.Tensor) -> torch.Tensor:
    """(N, 1, 28, 28) -> (N, 1, 28, 28) on the CPU, in eval mode, leaving the model's mode."""
    was_training = model.training
    model.eval()
    recon = model.reconstruct(images.to(next(model.parameters()).device)).cpu()
    model.train(was_training)
    return recon


def passthrough(model: Autoencoder, images: torch.Tensor) -> Passthrough:
    """(N, 1, 28, 28) images in [0, 1] -> how closely the model's reconstructions copy them."""
    recon = reconstruct(model, images)
    return Passthrough(float(correlation(images, recon).mean()),
                       float((recon - images).pow(2).mean()))


@dataclass
class NoiseTest:
    """What the Train page shows for an overcomplete model."""

    shown: torch.Tensor  # (2K, 1, 28, 28): K noise images, then their K reconstructions
    noise: Passthrough  # over every noise image tested
    digits: Passthrough  # over the digits given


def noise_test(model: Autoencoder, digits: torch.Tensor, count: int = 200,
               shown: int = 4) -> NoiseTest:
    """Feed `count` uniform-noise images and (N, 1, 28, 28) digits through `model`."""
    noise = noise_images(count)
    return NoiseTest(torch.cat([noise[:shown], reconstruct(model, noise[:shown])]),
                     passthrough(model, noise), passthrough(model, digits))


# The regularisers compared, each on the same 784 -> 1024 -> 784 model: (family, the family's
# settings, training settings, which may set its own epochs). "none" is a regularising family
# with its penalty weighed 0: check_overcomplete refuses the plain family's 1024-unit code.
REGULARISERS: dict[str, tuple[str, dict, dict]] = {
    "none (ReLU code: sparse_ae, weight 0)": ("sparse_ae", {"sparsity_weight": 0.0}, {}),
    "none (linear code: contractive_ae, weight 0)": (
        "contractive_ae", {"contractive_weight": 0.0}, {}),
    "none (linear code), 60 epochs": ("contractive_ae", {"contractive_weight": 0.0},
                                      {"epochs": 60}),
    "sparsity: L1, weight 0.3": ("sparse_ae", {"sparsity_weight": 0.3}, {}),
    "sparsity: KL, rho 0.05, weight 5": ("sparse_ae", {"sparsity_kind": "kl",
                                                       "sparsity_weight": 5.0}, {}),
    "denoising: gaussian 0.3": ("ae", {}, {"noise_kind": "gaussian", "noise_level": 0.3}),
    "denoising: mask 0.5": ("ae", {}, {"noise_kind": "mask", "noise_level": 0.5}),
    "contraction: weight 0.01": ("contractive_ae", {"contractive_weight": 0.01}, {}),
    "contraction: weight 1": ("contractive_ae", {"contractive_weight": 1.0}, {}),
}


@dataclass
class RegulariserRow:
    regulariser: str
    epochs: int
    digits: Passthrough  # test digits in, their reconstructions out
    noise: Passthrough  # uniform noise in, its reconstruction out
    inactive: float  # mean over test digits of the share of code units inactive


def compare_regularisers(test: Dataset, latent_dim: int = 1024,
                         hidden_sizes: tuple[int, ...] = (), epochs: int = 10,
                         noise_count: int = 200,
                         regularisers: dict[str, tuple[str, dict, dict]] = REGULARISERS,
                         ) -> list[RegulariserRow]:
    """Train one overcomplete model per regulariser on all 5,000 embedded digits, score it on
    `test` and on `noise_count` uniform-noise images."""
    rows = []
    images, labels = test.float_images(), test.labels
    noise = noise_images(noise_count)
    for name, (family, model_values, train_values) in regularisers.items():
        config = ModelConfig(family=family, latent_dim=latent_dim, hidden_sizes=hidden_sizes,
                             **model_values)
        train_config = TrainConfig(**{"epochs": epochs, "val_fraction": 0.0, **train_values})
        model = train_model(config, train_config).model.eval()
        codes = encode_dataset(model, images, labels).codes
        rows.append(RegulariserRow(name, train_config.epochs, passthrough(model, images),
                                   passthrough(model, noise),
                                   float(fraction_inactive(codes).mean())))
    return rows


def regulariser_markdown(rows: list[RegulariserRow]) -> str:
    """The table docs/quality.md holds."""
    lines = ["| regulariser | epochs | digits: MSE | digits: in → out | noise: in → out "
             "| noise: MSE | units off |", "|---|---:|---:|---:|---:|---:|---:|"]
    lines += [f"| {row.regulariser} | {row.epochs} | {row.digits.mse:.4f} | "
              f"{row.digits.correlation:.3f} | {row.noise.correlation:.3f} | "
              f"{row.noise.mse:.3f} | {row.inactive:.1%} |" for row in rows]
    return "\n".join(lines) + "\n"
