"""The diagonal Gaussian every variational family's encoder gives (diffusers'
`DiagonalGaussianDistribution`): one object, so IWAE, per-dimension KL and the KL panel never
ask which family they hold."""

from __future__ import annotations

import math

import torch

# exp(±12) bounds the variance to [6e-6, 1.6e5]: wide enough for any sane posterior, and
# keeps exp(log_var) and the KL finite when an early step sends the encoder off the rails.
LOG_VAR_LIMIT = 12.0
LOG_2PI = math.log(2 * math.pi)


def gaussian_kl(mean: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    """(B, D) KL(N(mean, exp(log_var)) || N(0, I)) per dimension (Kingma & Welling 2013,
    appendix B)."""
    return 0.5 * (mean.pow(2) + log_var.exp() - 1.0 - log_var)


class DiagonalGaussian:
    """N(mean, diag(exp(log_var))) over (B, D) codes; the log-variance is clamped."""

    def __init__(self, mean: torch.Tensor, log_var: torch.Tensor) -> None:
        self.mean = mean  # (B, D)
        self.log_var = log_var.clamp(-LOG_VAR_LIMIT, LOG_VAR_LIMIT)  # (B, D)
        self.std = (0.5 * self.log_var).exp()  # (B, D)

    def sample(self, samples: int | None = None,
               generator: torch.Generator | None = None) -> torch.Tensor:
        """A (B, D) draw, or (samples, B, D) draws, that gradients flow through
        (the reparameterisation trick). A `generator` draws on the CPU, so a seed gives the
        same codes on every device."""
        shape = self.mean.shape if samples is None else (samples, *self.mean.shape)
        if generator is None:
            noise = torch.randn(shape, dtype=self.mean.dtype, device=self.mean.device)
        else:
            noise = torch.randn(shape, generator=generator).to(self.mean)
        return self.mean + noise * self.std

    def mode(self) -> torch.Tensor:
        """(B, D) the most likely code: the mean."""
        return self.mean

    def kl_per_dimension(self) -> torch.Tensor:
        """(B, D) KL to the standard normal prior, per dimension."""
        return gaussian_kl(self.mean, self.log_var)

    def kl(self) -> torch.Tensor:
        """(B,) KL(q || N(0, I)) in nats."""
        return self.kl_per_dimension().sum(dim=-1)

    def log_prob(self, z: torch.Tensor) -> torch.Tensor:
        """(..., B, D) codes -> (..., B) log density, summed over the dimensions."""
        normalised = (z - self.mean) / self.std
        return -0.5 * (normalised.pow(2) + self.log_var + LOG_2PI).sum(dim=-1)


def standard_normal_log_prob(z: torch.Tensor) -> torch.Tensor:
    """(..., D) codes -> (...) log N(z; 0, I), the prior of every variational family."""
    return -0.5 * (z.pow(2) + LOG_2PI).sum(dim=-1)
