"""Choosing the device: CUDA, then Apple's MPS, then CPU, unless the user names one."""

from __future__ import annotations

import torch


def pick_device(requested: str = "auto") -> torch.device:
    """The best available device for "auto"; a named one must be available."""
    if requested == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if requested == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' was asked for but no CUDA GPU is available")
    if requested == "mps" and not torch.backends.mps.is_available():
        raise ValueError("device 'mps' was asked for but Apple's MPS is not available")
    return torch.device(requested)
