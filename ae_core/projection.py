"""2-D projections of codes, scikit-learn style: parameters in __init__, state ending in `_`."""

from __future__ import annotations

import numpy as np
import torch


class PCAProjection:
    """Principal components by SVD: instant, deterministic, and a fair first look at any code."""

    def __init__(self, n_components: int = 2) -> None:
        self.n_components = n_components

    def fit(self, codes: np.ndarray | torch.Tensor) -> PCAProjection:
        data = _as_matrix(codes)
        self.mean_ = data.mean(axis=0)
        centred = data - self.mean_
        # Full SVD of an (N, D) matrix with small D is cheap; the signs are fixed below so the
        # same codes always give the same picture.
        _, singular, axes = np.linalg.svd(centred, full_matrices=False)
        keep = min(self.n_components, axes.shape[0])
        axes = axes[:keep]
        signs = np.sign(axes[np.arange(keep), np.abs(axes).argmax(axis=1)])
        signs[signs == 0] = 1.0
        self.components_ = axes * signs[:, None]
        variance = singular**2 / max(1, len(data) - 1)
        total = variance.sum()
        self.explained_variance_ratio_ = (variance[:keep] / total if total > 0
                                          else np.zeros(keep))
        return self

    def transform(self, codes: np.ndarray | torch.Tensor) -> np.ndarray:
        """(N, D) -> (N, n_components); padded with zeros when D < n_components."""
        projected = (_as_matrix(codes) - self.mean_) @ self.components_.T
        if projected.shape[1] < self.n_components:
            padding = np.zeros((len(projected), self.n_components - projected.shape[1]))
            projected = np.hstack([projected, padding])
        return projected.astype(np.float32)

    def fit_transform(self, codes: np.ndarray | torch.Tensor) -> np.ndarray:
        return self.fit(codes).transform(codes)


def _as_matrix(codes: np.ndarray | torch.Tensor) -> np.ndarray:
    """Codes as a finite (N, D) float64 array, refusing anything else by name."""
    array = codes.detach().cpu().numpy() if isinstance(codes, torch.Tensor) else np.asarray(codes)
    if array.ndim != 2 or len(array) == 0:
        raise ValueError(f"codes must be a non-empty (N, D) array, got shape {array.shape}")
    if not np.isfinite(array).all():
        raise ValueError("codes hold NaN or infinite values")
    return array.astype(np.float64)
