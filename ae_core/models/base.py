"""The one interface every model family implements.

Images go in as floats in [0, 1] of shape (B, 1, 28, 28). Decoders produce logits; `decode`
applies the sigmoid, so pages always get images in [0, 1].
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from ae_core.config import ModelConfig
from ae_core.models.posterior import DiagonalGaussian
from ae_core.registry import Setting


@dataclass
class ForwardOutput:
    """What `forward` returns; families fill the fields they have."""

    logits: torch.Tensor  # (B, 1, 28, 28) decoder output before the sigmoid
    code: torch.Tensor  # (B, D) the code the decoder read (a sample, for a VAE)
    posterior: DiagonalGaussian | None = None  # q(z|x) of a variational family
    extras: dict[str, torch.Tensor] = field(default_factory=dict)  # family-specific terms

    @property
    def recon(self) -> torch.Tensor:
        """(B, 1, 28, 28) reconstruction in [0, 1]."""
        return torch.sigmoid(self.logits)


@dataclass
class AfterTrainingReport:
    """One epoch of what a family fits to its model once training is over (a VQ-VAE's code
    prior); epoch 0 says the fit begins."""

    what: str  # what is being fitted, for a progress line: "code prior"
    epoch: int  # 1-based; 0 before the first
    epochs: int
    figure: str = ""  # the epoch's training figure in words: "3.07 bits per position (train)"

    @property
    def fraction(self) -> float:
        """How much of this fit is done, in [0, 1]."""
        return self.epoch / max(1, self.epochs)


AfterTrainingProgress = Callable[[AfterTrainingReport], None]


def reconstruction_loss(x: torch.Tensor, logits: torch.Tensor, kind: str) -> torch.Tensor:
    """Per-image loss summed over pixels, averaged over the batch.

    Summing over pixels keeps BCE in nats per image, comparable with published VAE figures.
    """
    if kind == "bce":
        per_pixel = F.binary_cross_entropy_with_logits(logits, x, reduction="none")
    else:
        per_pixel = (torch.sigmoid(logits) - x) ** 2
    return per_pixel.flatten(1).sum(dim=1).mean()


# Sizes more than one family reads; a setting name means one thing everywhere.
HIDDEN_SIZES = Setting("hidden_sizes", tuple, (512, 256),
                       "MLP encoder widths; the decoder mirrors them", label="Hidden sizes",
                       bounds=(1, 8192))
CONV_CHANNELS = Setting("conv_channels", tuple, (32, 64),
                        "conv encoder channels, each layer halves H and W (28 -> 14 -> 7)",
                        label="Conv channels", bounds=(1, 1024), length=(1, 2))


class Autoencoder(nn.Module):
    """Base class: a family registers itself (ae_core.registry.register), builds its nets and
    overrides encode/decode_logits; the capabilities below say what else it offers."""

    # Set by `register`: the family's name, one line about it and its own settings.
    family: ClassVar[str] = ""
    description: ClassVar[str] = ""
    settings: ClassVar[tuple[Setting, ...]] = ()

    # Capabilities: pages and tools read these, never hasattr or the family's name.
    is_variational: ClassVar[bool] = False  # `posterior(x, labels)` gives a DiagonalGaussian
    is_conditional: ClassVar[bool] = False  # encode/decode read the digit's label
    has_prior: ClassVar[bool] = False  # `sample_prior` draws codes the decoder knows
    # Training pushes the whole cloud of codes onto the prior (an adversary, an MMD term), so
    # drawing prior samples under the codes shows how well it fits.
    codes_match_prior: ClassVar[bool] = False
    has_codebook: ClassVar[bool] = False  # a discrete code: code_indices, decode_indices
    # The loss adds a regulariser meant to keep a code larger than the image (latent_dim > 784)
    # from copying the input (how much it does is measured in docs/quality.md).
    regularises_overcomplete: ClassVar[bool] = False
    # One linear map each way (`decoder_basis` gives the decoder's columns): it outputs pixels
    # directly, not logits, and its loss is always squared error, PCA's objective.
    is_linear: ClassVar[bool] = False
    # The loss pushes most code units to (near) zero for each digit; its code is non-negative,
    # so the sparsity measures (ae_core.sparsity) and the sliders page's panel apply.
    is_sparse: ClassVar[bool] = False
    # Its weights are torch parameters: it can be trained and fine-tuned (an ONNX pair cannot).
    is_trainable: ClassVar[bool] = True

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config

    @property
    def latent_dim(self) -> int:
        """Numbers in the code `embed` returns (positions x dimension for a VQ-VAE)."""
        return self.config.latent_dim

    @property
    def prior_name(self) -> str:
        """What `sample_prior` draws from, for a legend."""
        return "N(0, I)"

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

    def before_training(self, train_images: torch.Tensor) -> None:
        """Called by the loop once before the first epoch with (N, 1, 28, 28) training images:
        for statistics of the data a family starts from (the linear family's mean)."""

    def after_epoch(self, train_images: torch.Tensor) -> dict:
        """Called by the loop after each epoch with (N, 1, 28, 28) training images; returns
        figures to log (e.g. codebook usage)."""
        return {}

    def after_training(self, train_images: torch.Tensor, val_images: torch.Tensor | None,
                       seed: int, progress: AfterTrainingProgress) -> dict[str, float]:
        """Called by the loop once, when every epoch has run, with (N, 1, 28, 28) training and
        validation images (None: none): a family fits what it learns from the trained model
        (a VQ-VAE's prior over its code grid, as its settings say), reporting each epoch to
        `progress`. Returns figures for the checkpoint's metrics."""
        return {}

    def sample_prior(self, count: int, generator: torch.Generator | None = None,
                     temperature: float = 1.0) -> torch.Tensor:
        """(count, D) codes drawn from the model's prior (families with `has_prior`).

        `temperature` scales the prior's spread about its mode: 1 is the prior itself, 0 its
        mode (every draw the same), above 1 wider than training ever saw. Each family says
        what that means for its prior.
        """
        raise NotImplementedError(f"{type(self).__name__} has no prior to sample from")

    def posterior(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> DiagonalGaussian:
        """q(z|x) over (B, D) codes (families with `is_variational`)."""
        raise NotImplementedError(f"{type(self).__name__} is not variational: it has no "
                                  f"Gaussian posterior")


def mlp(sizes: list[int], final_activation: bool = False) -> nn.Sequential:
    """Linear layers with ReLU between them: sizes [784, 512, 32] gives two layers."""
    layers: list[nn.Module] = []
    for index, (size_in, size_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layers.append(nn.Linear(size_in, size_out))
        if index < len(sizes) - 2 or final_activation:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)
