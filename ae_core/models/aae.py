"""Adversarial autoencoder (Makhzani et al. 2015): a discriminator shapes the code distribution.

Instead of a KL term, a discriminator learns to tell codes from samples of a chosen prior and
the encoder learns to fool it, so any prior that can be sampled will do (a mixture, a box).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch.func import functional_call

from ae_core.config import ModelConfig
from ae_core.models.base import HIDDEN_SIZES, ForwardOutput, mlp
from ae_core.models.mlp import MLPAutoencoder
from ae_core.registry import Setting, register

DISCRIMINATOR_SIZES = (256, 256)  # hidden widths of the code discriminator
MIXTURE_COMPONENTS = 10  # one per digit, as in the paper's figure 4
MIXTURE_RADIUS = 4.0  # component means lie on a circle of this radius
MIXTURE_STD = 0.5  # per-dimension std of each component: neighbours stay about 5 std apart
UNIFORM_BOUND = 1.0  # the uniform prior fills the box [-1, 1]^D


def mixture_means(dim: int) -> torch.Tensor:
    """(10, D) component means: a circle in the first two dimensions, zero in the rest."""
    angles = torch.arange(MIXTURE_COMPONENTS) * (2 * math.pi / MIXTURE_COMPONENTS)
    means = torch.zeros(MIXTURE_COMPONENTS, dim)
    if dim == 1:  # no room for a circle: spread the means evenly along the line
        means[:, 0] = torch.linspace(-MIXTURE_RADIUS, MIXTURE_RADIUS, MIXTURE_COMPONENTS)
    else:
        means[:, 0] = MIXTURE_RADIUS * angles.cos()
        means[:, 1] = MIXTURE_RADIUS * angles.sin()
    return means


def sample_code_prior(prior: str, count: int, dim: int,
                      generator: torch.Generator | None = None,
                      temperature: float = 1.0) -> torch.Tensor:
    """(count, D) samples of `prior` ("gaussian", "mixture" or "uniform"), on the CPU.

    `temperature` scales the spread about the modes: the Gaussian's std, each mixture
    component's std (0 gives the ten component means), and the uniform box's half-width (a
    box has no mode: 0 gives its centre).
    """
    if prior == "gaussian":
        return temperature * torch.randn(count, dim, generator=generator)
    if prior == "mixture":
        components = torch.randint(MIXTURE_COMPONENTS, (count,), generator=generator)
        noise = torch.randn(count, dim, generator=generator)
        return mixture_means(dim)[components] + temperature * MIXTURE_STD * noise
    if prior == "uniform":
        box = torch.rand(count, dim, generator=generator) * 2 - 1
        return box * (UNIFORM_BOUND * temperature)
    raise ValueError(f"unknown prior {prior!r}")


PRIORS = ("gaussian", "mixture", "uniform")


@register("aae", "Adversarial autoencoder (a discriminator pushes codes towards a prior)",
          settings=(
              HIDDEN_SIZES,
              Setting("prior", str, "gaussian", "the prior the codes are pushed towards",
                      label="Prior", choices=PRIORS),
              Setting("adversarial_weight", float, 1.0, "weight of the generator term",
                      label="Adversarial weight", bounds=(0.0, 10.0), step=0.1),
          ))
class AdversarialAutoencoder(MLPAutoencoder):
    """Deterministic MLP autoencoder plus a code discriminator trained by its own optimiser."""

    has_prior = True
    codes_match_prior = True

    def __init__(self, config: ModelConfig) -> None:
        super().__init__(config)
        self.discriminator = mlp([config.latent_dim, *DISCRIMINATOR_SIZES, 1])

    def adversary_parameters(self) -> list[torch.nn.Parameter]:
        return list(self.discriminator.parameters())

    def discriminator_logits(self, code: torch.Tensor, frozen: bool = False) -> torch.Tensor:
        """(B, D) -> (B,) logit that each code came from the prior.

        `frozen` runs the discriminator on detached copies of its weights: gradients reach the
        code (and so the encoder) but never the discriminator's weights.
        """
        if not frozen:
            return self.discriminator(code).squeeze(1)
        weights = {name: value.detach() for name, value in self.discriminator.named_parameters()}
        return functional_call(self.discriminator, weights, (code,)).squeeze(1)

    def loss(self, x: torch.Tensor, out: ForwardOutput, kl_weight: float = 1.0) -> dict:
        """Reconstruction + weight * generator term -log D(code) (Makhzani et al. 2015, sec. 2).

        The non-saturating generator loss of Goodfellow et al. 2014; the discriminator's weights
        are frozen here so this term can only move the encoder.
        """
        terms = super().loss(x, out, kl_weight)
        logits = self.discriminator_logits(out.code, frozen=True)
        adversarial_loss = F.binary_cross_entropy_with_logits(logits, torch.ones_like(logits))
        terms["adversarial_loss"] = adversarial_loss
        terms["loss"] = terms["recon_loss"] + self.config.adversarial_weight * adversarial_loss
        return terms

    def adversary_loss(self, x: torch.Tensor, out: ForwardOutput) -> torch.Tensor:
        """Discriminator cross-entropy: prior samples are real, codes (detached) are fake."""
        codes = out.code.detach()
        samples = sample_code_prior(self.config.prior, len(codes), self.latent_dim).to(codes)
        logits = self.discriminator_logits(torch.cat([samples, codes]))
        targets = torch.cat([torch.ones(len(samples)), torch.zeros(len(codes))]).to(logits)
        return F.binary_cross_entropy_with_logits(logits, targets)

    @property
    def prior_name(self) -> str:
        return self.config.prior

    def sample_prior(self, count: int, generator: torch.Generator | None = None,
                     temperature: float = 1.0) -> torch.Tensor:
        device = next(self.parameters()).device
        return sample_code_prior(self.config.prior, count, self.latent_dim, generator,
                                 temperature).to(device)
