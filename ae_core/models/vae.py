"""Variational autoencoders (Kingma & Welling 2013) with a beta weight (Higgins et al. 2017)."""

from __future__ import annotations

import torch
from torch import nn

from ae_core.config import IMAGE_SHAPE, INPUT_SIZE, ModelConfig
from ae_core.models.base import (
    CONV_CHANNELS,
    HIDDEN_SIZES,
    Autoencoder,
    ForwardOutput,
    mlp,
    reconstruction_loss,
)
from ae_core.models.conv import conv_decoder, conv_encoder
from ae_core.models.posterior import LOG_VAR_LIMIT, DiagonalGaussian, gaussian_kl
from ae_core.registry import Setting, register

__all__ = ["LOG_VAR_LIMIT", "gaussian_kl"]  # re-exported: the posterior's, named here as before

FREE_BITS = Setting("free_bits", float, 0.0,
                    "nats of KL per dimension left unpenalised (Kingma et al. 2016): below it "
                    "a dimension gains nothing by collapsing onto the prior; 0 is the plain ELBO",
                    label="Free bits (nats per dimension)", bounds=(0.0, 10.0), step=0.1)
BETA = Setting("beta", float, 1.0, "KL weight (Higgins et al. 2017); 1 is the plain ELBO",
               label="β (KL weight)", bounds=(0.0, 100.0), step=0.5)


class VariationalAutoencoder(Autoencoder):
    """What every variational family shares: a Gaussian posterior from two linear heads on the
    encoder's features, a sampled code, the (beta-weighted) negative ELBO, an N(0, I) prior.

    A subclass builds `encoder` and `decoder`, calls `gaussian_heads`, and says how the input
    becomes features (`features`) and a code becomes logits (`decode_logits`).
    """

    is_variational = True
    has_prior = True

    def gaussian_heads(self, feature_size: int) -> None:
        """The linear maps from the encoder's features to the posterior's mean and log-variance."""
        self.to_mean = nn.Linear(feature_size, self.config.latent_dim)
        self.to_log_var = nn.Linear(feature_size, self.config.latent_dim)

    def features(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """(B, 1, 28, 28) -> (B, F) what the heads read."""
        raise NotImplementedError

    def posterior(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> DiagonalGaussian:
        """q(z|x) (q(z|x, y) for a conditional family) over (B, D) codes."""
        hidden = self.features(x, labels)
        return DiagonalGaussian(self.to_mean(hidden), self.to_log_var(hidden))

    def encode(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """A sample from q(z|x)."""
        return self.posterior(x, labels).sample()

    def embed(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.posterior(x, labels).mode()

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> ForwardOutput:
        # Always a sample, in eval mode too, so the loss is a proper single-sample ELBO
        # estimate; `reconstruct` and `embed` give the deterministic path through the mean.
        posterior = self.posterior(x, labels)
        code = posterior.sample()
        return ForwardOutput(logits=self.decode_logits(code, labels), code=code,
                             posterior=posterior)

    def loss(self, x: torch.Tensor, out: ForwardOutput, kl_weight: float = 1.0) -> dict:
        """Negative ELBO with the KL scaled by beta and the loop's warm-up factor."""
        recon_loss = reconstruction_loss(x, out.logits, self.config.recon_loss)
        kl_per_dimension = out.posterior.kl_per_dimension().mean(dim=0)  # (D,) batch mean
        kl_loss = kl_per_dimension.sum()
        # Free bits (Kingma et al. 2016, eq. 15): each dimension's batch-mean KL counts as at
        # least `free_bits`, so pushing a dimension below it towards the prior gains nothing.
        penalised = kl_per_dimension.clamp(min=self.config.free_bits).sum()
        loss = recon_loss + self.config.beta * kl_weight * penalised
        # The ELBO itself (beta 1, no warm-up) is reported so runs compare in nats.
        return {"loss": loss, "recon_loss": recon_loss, "kl_loss": kl_loss,
                "neg_elbo": recon_loss + kl_loss}

    def sample_prior(self, count: int, generator: torch.Generator | None = None,
                     temperature: float = 1.0) -> torch.Tensor:
        """(count, D) draws of N(0, temperature^2 I): temperature 0 is the mode, the origin."""
        device = next(self.parameters()).device
        noise = torch.randn(count, self.latent_dim, generator=generator)
        return (temperature * noise).to(device)


@register("vae", "Variational autoencoder (MLP)", settings=(HIDDEN_SIZES, BETA, FREE_BITS))
class VAE(VariationalAutoencoder):
    """MLP encoder to a diagonal Gaussian posterior; decoder mirrors it."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__(config)
        label_size = self.label_size
        widths = [INPUT_SIZE + label_size, *config.hidden_sizes]
        self.encoder = mlp(widths, final_activation=True)
        self.gaussian_heads(widths[-1])
        self.decoder = mlp([config.latent_dim + label_size, *reversed(config.hidden_sizes),
                            INPUT_SIZE])

    @property
    def label_size(self) -> int:
        """Numbers appended to the encoder's and the decoder's input (a conditional VAE's
        one-hot label); none here."""
        return 0

    def with_label(self, values: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        """(B, N) -> (B, N + label_size): what a conditional family appends; unchanged here."""
        return values

    def features(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.encoder(self.with_label(x.flatten(1), labels))

    def decode_logits(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.decoder(self.with_label(z, labels)).view(-1, *IMAGE_SHAPE)


@register("conv_vae", "Variational autoencoder (convolutional)",
          settings=(CONV_CHANNELS, BETA, FREE_BITS))
class ConvVAE(VariationalAutoencoder):
    """The VAE with the convolutional encoder and decoder of `ConvAutoencoder`."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__(config)
        self.encoder, feature_size = conv_encoder(config.conv_channels)
        self.gaussian_heads(feature_size)
        self.decoder = conv_decoder(config.conv_channels, config.latent_dim)

    def features(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.encoder(x)

    def decode_logits(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.decoder(z)


# Below this mean KL (nats) a dimension carries almost no information about the input: its
# posterior has collapsed onto the prior (Burda et al. 2016 call such units "inactive").
UNUSED_KL_THRESHOLD = 0.01


@torch.inference_mode()
def per_dimension_kl(model: Autoencoder, images: torch.Tensor,
                     labels: torch.Tensor | None = None, batch_size: int = 1000) -> torch.Tensor:
    """(N, 1, 28, 28) -> (D,) mean KL(q(z_d|x) || N(0, 1)) per latent dimension.

    For every variational family; a conditional one needs the images' (N,) labels (its
    posterior says so when they are missing).
    """
    if not model.is_variational:
        raise ValueError(f"{model.config.family} has no Gaussian posterior to measure KL of")
    total = torch.zeros(model.config.latent_dim, device=images.device)
    for start in range(0, len(images), batch_size):
        batch_labels = None if labels is None else labels[start:start + batch_size]
        posterior = model.posterior(images[start:start + batch_size], batch_labels)
        total += posterior.kl_per_dimension().sum(dim=0)
    return total / max(1, len(images))


def unused_dimensions(kl_per_dim: torch.Tensor,
                      threshold: float = UNUSED_KL_THRESHOLD) -> list[int]:
    """Indices of the dimensions whose mean KL is below `threshold` (collapsed)."""
    return [int(index) for index in (kl_per_dim < threshold).nonzero().flatten()]
