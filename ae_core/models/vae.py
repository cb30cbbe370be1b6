"""Variational autoencoders (Kingma & Welling 2013) with a beta weight (Higgins et al. 2017)."""

from __future__ import annotations

import torch
from torch import nn

from ae_core.config import IMAGE_SHAPE, INPUT_SIZE, ModelConfig
from ae_core.models.base import Autoencoder, ForwardOutput, mlp, reconstruction_loss
from ae_core.models.conv import conv_decoder, conv_encoder

# exp(±12) bounds the variance to [6e-6, 1.6e5]: wide enough for any sane posterior, and
# keeps exp(log_var) and the KL finite when an early step sends the encoder off the rails.
LOG_VAR_LIMIT = 12.0


def gaussian_kl(mean: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    """(B, D) KL(q(z|x) || N(0, I)) per dimension (Kingma & Welling 2013, appendix B)."""
    return 0.5 * (mean.pow(2) + log_var.exp() - 1.0 - log_var)


def reparameterise(mean: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    """(B, D) sample of N(mean, exp(log_var)) that gradients flow through."""
    return mean + torch.randn_like(mean) * (0.5 * log_var).exp()


class VAE(Autoencoder):
    """MLP encoder to a diagonal Gaussian posterior; decoder mirrors it."""

    is_variational = True

    def __init__(self, config: ModelConfig) -> None:
        super().__init__(config)
        widths = [INPUT_SIZE, *config.hidden_sizes]
        self.encoder = mlp(widths, final_activation=True)
        self.to_mean = nn.Linear(widths[-1], config.latent_dim)
        self.to_log_var = nn.Linear(widths[-1], config.latent_dim)
        self.decoder = mlp([config.latent_dim, *reversed(widths)])

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x.flatten(1))

    def decode_logits(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.decoder(z).view(-1, *IMAGE_SHAPE)

    def posterior(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, 1, 28, 28) -> mean (B, D), clamped log-variance (B, D)."""
        hidden = self.features(x)
        log_var = self.to_log_var(hidden).clamp(-LOG_VAR_LIMIT, LOG_VAR_LIMIT)
        return self.to_mean(hidden), log_var

    def encode(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """A sample from q(z|x)."""
        return reparameterise(*self.posterior(x))

    def embed(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.posterior(x)[0]

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> ForwardOutput:
        # Always a sample, in eval mode too, so the loss is a proper single-sample ELBO
        # estimate; `reconstruct` and `embed` give the deterministic path through the mean.
        mean, log_var = self.posterior(x)
        code = reparameterise(mean, log_var)
        return ForwardOutput(
            logits=self.decode_logits(code, labels), code=code, mean=mean, log_var=log_var
        )

    def loss(self, x: torch.Tensor, out: ForwardOutput, kl_weight: float = 1.0) -> dict:
        """Negative ELBO with the KL scaled by beta and the loop's warm-up factor."""
        recon_loss = reconstruction_loss(x, out.logits, self.config.recon_loss)
        kl_loss = gaussian_kl(out.mean, out.log_var).sum(dim=1).mean()
        loss = recon_loss + self.config.beta * kl_weight * kl_loss
        # The ELBO itself (beta 1, no warm-up) is reported so runs compare in nats.
        return {"loss": loss, "recon_loss": recon_loss, "kl_loss": kl_loss,
                "neg_elbo": recon_loss + kl_loss}

    def sample_prior(self, count: int, generator: torch.Generator | None = None) -> torch.Tensor:
        device = next(self.parameters()).device
        return torch.randn(count, self.latent_dim, generator=generator).to(device)


class ConvVAE(VAE):
    """The VAE with the convolutional encoder and decoder of `ConvAutoencoder`."""

    def __init__(self, config: ModelConfig) -> None:
        Autoencoder.__init__(self, config)
        features, feature_size = conv_encoder(config.conv_channels)
        self.encoder = features
        self.to_mean = nn.Linear(feature_size, config.latent_dim)
        self.to_log_var = nn.Linear(feature_size, config.latent_dim)
        self.decoder = conv_decoder(config.conv_channels, config.latent_dim)

    def features(self, x: torch.Tensor) -> torch.Tensor:
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

    Works for every family with a Gaussian `posterior` (vae, conv_vae, cvae); a conditional
    one needs the images' (N,) labels.
    """
    if not hasattr(model, "posterior"):
        raise ValueError(f"{model.config.family} has no Gaussian posterior to measure KL of")
    if model.is_conditional and labels is None:
        raise ValueError(f"{model.config.family} is conditional: pass the images' labels")
    total = torch.zeros(model.config.latent_dim, device=images.device)
    for start in range(0, len(images), batch_size):
        x = images[start:start + batch_size]
        if model.is_conditional:
            mean, log_var = model.posterior(x, labels[start:start + batch_size])
        else:
            mean, log_var = model.posterior(x)
        total += gaussian_kl(mean, log_var).sum(dim=0)
    return total / max(1, len(images))


def unused_dimensions(kl_per_dim: torch.Tensor,
                      threshold: float = UNUSED_KL_THRESHOLD) -> list[int]:
    """Indices of the dimensions whose mean KL is below `threshold` (collapsed)."""
    return [int(index) for index in (kl_per_dim < threshold).nonzero().flatten()]
