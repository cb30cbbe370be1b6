"""Input corruptions for denoising: Gaussian noise, salt-and-pepper, a masked block."""

from __future__ import annotations

import torch

from ae_core.config import NOISE_KINDS


def corrupt(x: torch.Tensor, kind: str, level: float,
            generator: torch.Generator | None = None, clip: bool = True) -> torch.Tensor:
    """(B, 1, 28, 28) in [0, 1] -> a corrupted copy, in [0, 1] unless `clip` is False.

    gaussian: additive noise of std `level`, clipped to [0, 1] so it stays a picture (the
    tutorials add it unclipped: `clip=False`); salt_pepper: a `level` fraction of pixels set to
    0 or 1; mask: one square block per image covering a `level` fraction of its area is zeroed.
    """
    if kind not in NOISE_KINDS:
        raise ValueError(f"noise kind {kind!r} is not one of {', '.join(NOISE_KINDS)}")
    if not 0 <= level <= 1:
        raise ValueError(f"noise level {level!r} must be in [0, 1]")
    if kind == "none" or level == 0:
        return x.clone()
    # Random numbers come from a CPU generator so a seed gives the same noise on every device.
    def uniform(*shape: int) -> torch.Tensor:
        return torch.rand(*shape, generator=generator).to(x.device)

    if kind == "gaussian":
        noise = torch.randn(x.shape, generator=generator).to(x.device)
        noisy = x + level * noise
        return noisy.clamp_(0.0, 1.0) if clip else noisy
    if kind == "salt_pepper":
        hit = uniform(*x.shape) < level
        salt = uniform(*x.shape) < 0.5
        return torch.where(hit, salt.to(x.dtype), x)
    batch, _, height, width = x.shape
    side = max(1, round((level * height * width) ** 0.5))
    tops = (uniform(batch) * (height - side + 1)).long()
    lefts = (uniform(batch) * (width - side + 1)).long()
    rows = torch.arange(height, device=x.device).view(1, height, 1)
    cols = torch.arange(width, device=x.device).view(1, 1, width)
    inside = ((rows >= tops.view(-1, 1, 1)) & (rows < (tops + side).view(-1, 1, 1))
              & (cols >= lefts.view(-1, 1, 1)) & (cols < (lefts + side).view(-1, 1, 1)))
    return x.masked_fill(inside.unsqueeze(1), 0.0)
