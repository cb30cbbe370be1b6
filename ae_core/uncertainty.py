"""A VAE's uncertainty about one image: its encoder's mean and spread, and codes resampled
from it (mu + sigma * epsilon, Kingma & Welling 2013's reparameterisation), as VAE Explainer
shows them."""

from __future__ import annotations

import torch

from ae_core.latent import decode_codes, model_device
from ae_core.models import Autoencoder


@torch.inference_mode()
def posterior_spread(model: Autoencoder, image: torch.Tensor,
                     label: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """(1, 28, 28) image -> the encoder's mean (D,) and standard deviation (D,)."""
    if not model.is_variational:
        raise ValueError("this model is not variational: its encoder gives one code, no spread")
    device = model_device(model)
    labels = torch.tensor([label], device=device) if label is not None else None
    posterior = model.eval().posterior(image.unsqueeze(0).to(device), labels)
    return posterior.mean[0].cpu(), posterior.std[0].cpu()


@torch.inference_mode()
def resample(model: Autoencoder, mean: torch.Tensor, std: torch.Tensor, count: int,
             seed: int = 0, label: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """(D,) mean and spread -> `count` codes mu + sigma * eps (count, D) and their decodes
    (count, 1, 28, 28); the same seed gives the same draws."""
    noise = torch.randn(count, len(mean), generator=torch.Generator().manual_seed(seed))
    codes = mean + std * noise
    labels = torch.full((count,), label) if label is not None else None
    return codes, decode_codes(model, codes, labels)
