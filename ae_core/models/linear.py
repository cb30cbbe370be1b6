"""The linear autoencoder: one linear map in, one out, squared error. Its optimum spans the same
subspace as PCA with as many components (Baldi & Hornik 1989; Bourlard & Kamp 1988), which is
what the bottleneck page shows against the PCA line."""

from __future__ import annotations

import torch
from torch import nn

from ae_core.config import IMAGE_SHAPE, INPUT_SIZE, ModelConfig
from ae_core.models.base import Autoencoder, ForwardOutput
from ae_core.registry import register


@register("linear_ae", "Linear autoencoder (one linear map each way, squared error: PCA's "
                       "subspace)")
class LinearAutoencoder(Autoencoder):
    """code = W_e (x - mean), x' = W_d code + mean; no squashing anywhere.

    The mean is the training digits' (set once before training, as PCA centres its data), so
    the maps need not learn it; the loss is the squared error whatever `recon_loss` says, since
    the theorem is about squared error, and pictures are clipped to [0, 1] only for showing.
    """

    is_linear = True

    def __init__(self, config: ModelConfig) -> None:
        super().__init__(config)
        self.encoder = nn.Linear(INPUT_SIZE, config.latent_dim)
        self.decoder = nn.Linear(config.latent_dim, INPUT_SIZE)
        self.register_buffer("mean", torch.zeros(INPUT_SIZE))

    def before_training(self, train_images: torch.Tensor) -> None:
        self.mean.copy_(train_images.flatten(1).mean(dim=0))

    def encode(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.encoder(x.flatten(1) - self.mean)

    def decode_logits(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """(B, D) -> (B, 1, 28, 28) the linear reconstruction itself (not logits of anything)."""
        return (self.decoder(z) + self.mean).view(-1, *IMAGE_SHAPE)

    def decode(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.decode_logits(z, labels).clamp(0.0, 1.0)

    def loss(self, x: torch.Tensor, out: ForwardOutput, kl_weight: float = 1.0) -> dict:
        """Squared error summed over pixels, averaged over the batch (the PCA objective)."""
        recon_loss = (out.logits - x).pow(2).flatten(1).sum(dim=1).mean()
        return {"loss": recon_loss, "recon_loss": recon_loss}

    def decoder_basis(self) -> torch.Tensor:
        """(784, D) the decoder's columns: the subspace the reconstructions live in."""
        return self.decoder.weight.detach()
