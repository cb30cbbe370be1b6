"""MLP autoencoders: the plain one (e.g. 784-512-256-32) and its sparse variant."""

from __future__ import annotations

import torch

from ae_core.config import IMAGE_SHAPE, INPUT_SIZE, ModelConfig
from ae_core.models.base import HIDDEN_SIZES, Autoencoder, ForwardOutput, mlp
from ae_core.registry import Setting, register


@register("ae", "MLP autoencoder", settings=(HIDDEN_SIZES,))
class MLPAutoencoder(Autoencoder):
    """Fully connected encoder and a mirrored decoder."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__(config)
        widths = [INPUT_SIZE, *config.hidden_sizes]
        self.encoder = mlp([*widths, config.latent_dim])
        self.decoder = mlp([config.latent_dim, *reversed(widths)])

    def encode(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.encoder(x.flatten(1))

    def decode_logits(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.decoder(z).view(-1, *IMAGE_SHAPE)


SPARSITY_KINDS = ("l1", "kl")


@register("sparse_ae", "Sparse autoencoder (L1 or KL-to-target on a non-negative code)", settings=(
    HIDDEN_SIZES,
    Setting("sparsity_weight", float, 0.3,
            "weight of the sparsity term beside a reconstruction loss summed over 784 pixels; "
            "0.3 leaves most L1 units off per digit, the KL form wants about 5 "
            "(1e-3, the old default, left the code as dense as a plain AE's)",
            label="Sparsity weight", bounds=(0.0, 100.0), step=0.05),
    Setting("sparsity_kind", str, "l1",
            "l1: ReLU code, L1 penalty on it; kl: sigmoid code, KL from the target rate to each "
            "unit's mean activation over the batch (Ng 2011)",
            label="Sparsity penalty", choices=SPARSITY_KINDS),
    Setting("sparsity_target", float, 0.05,
            "KL form: the mean activation rho each unit is pushed towards",
            label="Target activation (rho)", bounds=(0.001, 0.5), step=0.005),
))
class SparseAutoencoder(MLPAutoencoder):
    """MLP autoencoder whose code is pushed to be mostly zero, so few units fire per digit.

    The code is non-negative so "inactive" means near zero: a ReLU for the L1 form, a sigmoid
    (activations in (0, 1)) for the KL form, which compares each unit's mean activation over
    the batch with the target rate rho (Ng 2011, "Sparse autoencoder" lecture notes).
    """

    regularises_overcomplete = True
    is_sparse = True

    def encode(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        pre = self.encoder(x.flatten(1))
        return torch.sigmoid(pre) if self.config.sparsity_kind == "kl" else torch.relu(pre)

    def loss(self, x: torch.Tensor, out: ForwardOutput, kl_weight: float = 1.0) -> dict:
        terms = super().loss(x, out, kl_weight)
        if self.config.sparsity_kind == "kl":
            sparsity_loss = rate_kl(self.config.sparsity_target, out.code.mean(dim=0)).sum()
        else:
            sparsity_loss = out.code.abs().sum(dim=1).mean()
        terms["sparsity_loss"] = sparsity_loss
        terms["loss"] = terms["recon_loss"] + self.config.sparsity_weight * sparsity_loss
        return terms


def rate_kl(target: float, rates: torch.Tensor) -> torch.Tensor:
    """(D,) KL(Bernoulli(target) || Bernoulli(rate)) per unit, rates clamped away from 0 and 1."""
    rates = rates.clamp(1e-6, 1 - 1e-6)
    return (target * torch.log(target / rates)
            + (1 - target) * torch.log((1 - target) / (1 - rates)))
