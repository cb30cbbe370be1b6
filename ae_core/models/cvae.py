"""Conditional VAE (Sohn et al. 2015): encoder and decoder both read the digit's label.

Because the decoder is told which digit to draw, the code is free to hold style (slant, stroke
width); decoding one code with each label draws the same style as every digit.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ae_core.config import IMAGE_SHAPE, INPUT_SIZE, ModelConfig
from ae_core.models.base import Autoencoder, ForwardOutput, mlp
from ae_core.models.vae import LOG_VAR_LIMIT, VAE, reparameterise


class ConditionalVAE(VAE):
    """MLP VAE with a one-hot label concatenated to the encoder's and the decoder's input."""

    is_conditional = True
    is_variational = True

    def __init__(self, config: ModelConfig) -> None:
        Autoencoder.__init__(self, config)
        widths = [INPUT_SIZE + config.num_classes, *config.hidden_sizes]
        self.encoder = mlp(widths, final_activation=True)
        self.to_mean = nn.Linear(widths[-1], config.latent_dim)
        self.to_log_var = nn.Linear(widths[-1], config.latent_dim)
        self.decoder = mlp([config.latent_dim + config.num_classes,
                            *reversed(config.hidden_sizes), INPUT_SIZE])

    def one_hot(self, labels: torch.Tensor | None, like: torch.Tensor) -> torch.Tensor:
        """(B,) int labels -> (B, num_classes) one-hot in `like`'s dtype and device.

        A single label is repeated for the whole batch (one class for a grid of codes).
        """
        if labels is None:
            raise ValueError("cvae is conditioned on the digit: pass labels, a (B,) int64 "
                             "tensor of classes, to encode/decode/embed/forward")
        labels = torch.as_tensor(labels, device=like.device).long().reshape(-1)
        batch = like.shape[0]
        if labels.numel() == 1:
            labels = labels.expand(batch)
        if labels.numel() != batch:
            raise ValueError(f"got {labels.numel()} labels for a batch of {batch}")
        classes = self.config.num_classes
        if labels.numel() and (labels.min() < 0 or labels.max() >= classes):
            raise ValueError(f"labels must be classes in 0..{classes - 1}")
        return F.one_hot(labels, classes).to(like.dtype)

    def features(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.encoder(torch.cat([x.flatten(1), self.one_hot(labels, x)], dim=1))

    def posterior(self, x: torch.Tensor, labels: torch.Tensor | None = None
                  ) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, 1, 28, 28), (B,) -> mean (B, D), clamped log-variance (B, D) of q(z|x, y)."""
        hidden = self.features(x, labels)
        log_var = self.to_log_var(hidden).clamp(-LOG_VAR_LIMIT, LOG_VAR_LIMIT)
        return self.to_mean(hidden), log_var

    def encode(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """A sample from q(z|x, y)."""
        return reparameterise(*self.posterior(x, labels))

    def embed(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.posterior(x, labels)[0]

    def decode_logits(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """(B, D), (B,) -> (B, 1, 28, 28) logits of p(x|z, y)."""
        return self.decoder(torch.cat([z, self.one_hot(labels, z)], dim=1)).view(-1, *IMAGE_SHAPE)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> ForwardOutput:
        # As in VAE.forward: always a sample, so the loss is a single-sample ELBO estimate.
        mean, log_var = self.posterior(x, labels)
        code = reparameterise(mean, log_var)
        return ForwardOutput(
            logits=self.decode_logits(code, labels), code=code, mean=mean, log_var=log_var
        )

    # `loss` (negative conditional ELBO, Sohn et al. 2015 eq. 4) and `sample_prior` (N(0, I):
    # the prior does not depend on the label) are the VAE's.
