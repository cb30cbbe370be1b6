"""How sparse a code is: which units are inactive for each digit, and which fire for a class.

Pure functions on tensors of codes, (N, D), as `ae_core.latent.encode_dataset` returns them.
"""

from __future__ import annotations

import torch

# A unit is inactive for a digit when its activation is below this share of the unit's largest
# activation over the digits measured (a ReLU code's zeros, a sigmoid code's near-zeros).
INACTIVE_SHARE = 1e-2


def inactive_mask(codes: torch.Tensor, share: float = INACTIVE_SHARE) -> torch.Tensor:
    """(N, D) codes -> (N, D) bool: |activation| < share x that unit's max |activation| over
    the N digits. A unit that never fires (max 0) is inactive everywhere."""
    magnitude = codes.abs()
    scale = magnitude.amax(dim=0, keepdim=True)  # (1, D)
    return (magnitude < share * scale) | (scale == 0)


def fraction_inactive(codes: torch.Tensor, share: float = INACTIVE_SHARE) -> torch.Tensor:
    """(N, D) codes -> (N,) share of the D units inactive for each digit."""
    return inactive_mask(codes, share).float().mean(dim=1)


def units_by_class(codes: torch.Tensor, labels: torch.Tensor, classes: int = 10) -> torch.Tensor:
    """(N, D) codes, (N,) labels -> (classes, D) mean activation of each unit per class
    (zero for a class with no digits)."""
    sums = torch.zeros(classes, codes.shape[1], dtype=codes.dtype, device=codes.device)
    sums.index_add_(0, labels.long(), codes)
    counts = torch.bincount(labels.long(), minlength=classes).clamp_min(1).to(codes.dtype)
    return sums / counts[:, None]
