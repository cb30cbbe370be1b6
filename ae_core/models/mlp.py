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


@register("sparse_ae", "Sparse autoencoder (L1 on the code)", settings=(
    HIDDEN_SIZES,
    Setting("sparsity_weight", float, 1e-3, "L1 weight on the code",
            label="Sparsity weight (L1)", bounds=(0.0, 10.0), step=1e-3),
))
class SparseAutoencoder(MLPAutoencoder):
    """MLP autoencoder with an L1 penalty on the code, so few units fire per digit (Ng 2011)."""

    regularises_overcomplete = True

    def loss(self, x: torch.Tensor, out: ForwardOutput, kl_weight: float = 1.0) -> dict:
        terms = super().loss(x, out, kl_weight)
        sparsity_loss = out.code.abs().sum(dim=1).mean()
        terms["sparsity_loss"] = sparsity_loss
        terms["loss"] = terms["recon_loss"] + self.config.sparsity_weight * sparsity_loss
        return terms
