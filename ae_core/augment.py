"""Training-time augmentation: new views of the same digits, for input and target alike."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def random_shift(x: torch.Tensor, max_shift: int,
                 generator: torch.Generator | None = None) -> torch.Tensor:
    """(B, 1, H, W) -> each image moved by its own random offset in [-max_shift, max_shift]
    pixels along each axis, the border filled with zeros.

    On the 4,500 embedded digits an MLP autoencoder overfits; shifting by up to 2 pixels
    cut its MNIST test error from 0.77 to 0.53 times PCA's (docs/quality.md).
    """
    if max_shift <= 0:
        return x
    batch, _, height, width = x.shape
    padded = F.pad(x, (max_shift,) * 4)
    # Offsets come from a CPU generator so a seed gives the same views on every device.
    offsets = torch.randint(0, 2 * max_shift + 1, (2, batch), generator=generator).to(x.device)
    rows = (offsets[0, :, None] + torch.arange(height, device=x.device))[:, :, None]
    cols = (offsets[1, :, None] + torch.arange(width, device=x.device))[:, None, :]
    picked = torch.arange(batch, device=x.device)[:, None, None]
    return padded[picked, 0, rows, cols].unsqueeze(1)
