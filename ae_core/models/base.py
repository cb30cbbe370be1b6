"""The one interface every model family implements.

Images go in as floats in [0, 1] of shape (B, 1, 28, 28). Decoders produce logits; `decode`
applies the sigmoid, so pages always get images in [0, 1].
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from ae_core.config import ModelConfig


@dataclass
class ForwardOutput:
    """What `forward` returns; families fill the fields they have."""

    logits: torch.Tensor  # (B, 1, 28, 28) decoder output before the sigmoid
    code: torch.Tensor  # (B, D) the code the decoder read (a sample, for a VAE)
    mean: torch.Tensor | None = None  # (B, D) VAE posterior mean
    log_var: torch.Tensor | None = None  # (B, D) VAE posterior log-variance, clamped
    extras: dict[str, torch.Tensor] = field(default_factory=dict)  # family-specific terms

    @property
    def recon(self) -> torch.Tensor:
        """(B, 1, 28, 28) reconstruction in [0, 1]."""
        return torch.sigmoid(self.logits)


def reconstruction_loss(x: torch.Tensor, logits: torch.Tensor, kind: str) -> torch.Tensor:
    """Per-image loss summed over pixels, averaged over the batch.

    Summing over pixels keeps BCE in nats per image, comparable with published VAE figures.
    """
    if kind == "bce":
        per_pixel = F.binary_cross_entropy_with_logits(logits, x, reduction="none")
    else:
        per_pixel = (torch.sigmoid(logits) - x) ** 2
    return per_pixel.flatten(1).sum(dim=1).mean()


class Autoencoder(nn.Module):
    """Base class: subclasses build `encoder_net`/`decoder_net` or override encode/decode."""

    # Families conditioned on the label (conditional VAE) set this; pages then ask for a class.
    is_conditional: bool = False
    # Families with a probabilistic code (VAE) set this; they have a prior to sample from.
    is_variational: bool = False

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config

    @property
    def latent_dim(self) -> int:
        """Numbers in the code `embed` returns (positions x dimension for a VQ-VAE)."""
        return self.config.latent_dim

    @property
    def has_prior(self) -> bool:
        """Whether `sample_prior` works: VAEs, and families with a fitted or chosen prior."""
        return type(self).sample_prior is not Autoencoder.sample_prior

    def encode(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """(B, 1, 28, 28) -> (B, D) code used by the decoder."""
        raise NotImplementedError

    def decode_logits(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """(B, D) -> (B, 1, 28, 28) logits."""
        raise NotImplementedError

    def decode(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """(B, D) -> (B, 1, 28, 28) images in [0, 1]."""
        return torch.sigmoid(self.decode_logits(z, labels))

    def embed(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """(B, 1, 28, 28) -> (B, D) deterministic code (the mean, for a VAE)."""
        return self.encode(x, labels)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> ForwardOutput:
        code = self.encode(x, labels)
        return ForwardOutput(logits=self.decode_logits(code, labels), code=code)

    def reconstruct(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """(B, 1, 28, 28) -> (B, 1, 28, 28) deterministic reconstruction in [0, 1]."""
        return self.decode(self.embed(x, labels), labels)

    def loss(self, x: torch.Tensor, out: ForwardOutput, kl_weight: float = 1.0) -> dict:
        """Named loss terms; `"loss"` is what the optimiser minimises.

        `kl_weight` is the training loop's schedule factor (KL warm-up); families without a
        KL term ignore it.
        """
        recon_loss = reconstruction_loss(x, out.logits, self.config.recon_loss)
        return {"loss": recon_loss, "recon_loss": recon_loss}

    # Hooks for families that train more than one network or keep a codebook healthy.
    def adversary_parameters(self) -> list[nn.Parameter]:
        """Parameters trained by their own optimiser on `adversary_loss` (a discriminator)."""
        return []

    def adversary_loss(self, x: torch.Tensor, out: ForwardOutput) -> torch.Tensor | None:
        """The adversary's loss for this batch; None for families without one."""
        return None

    def after_epoch(self, train_images: torch.Tensor) -> dict:
        """Called by the loop after each epoch with (N, 1, 28, 28) training images; returns
        figures to log (e.g. codebook usage)."""
        return {}

    def sample_prior(self, count: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """(count, D) codes drawn from the model's prior; only variational families have one."""
        raise NotImplementedError(f"{type(self).__name__} has no prior to sample from")


def mlp(sizes: list[int], final_activation: bool = False) -> nn.Sequential:
    """Linear layers with ReLU between them: sizes [784, 512, 32] gives two layers."""
    layers: list[nn.Module] = []
    for index, (size_in, size_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layers.append(nn.Linear(size_in, size_out))
        if index < len(sizes) - 2 or final_activation:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)
