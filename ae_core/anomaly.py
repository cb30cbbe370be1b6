"""Anomaly detection by reconstruction error: train on normal digits, flag what rebuilds badly.

Pure functions: scores in, thresholds and rates out. Higher score = more anomalous; an image
is flagged when its score is strictly above the threshold.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ae_core.data import Dataset
from ae_core.latent import encode_dataset
from ae_core.metrics import roc_auc, roc_curve
from ae_core.models import Autoencoder

THRESHOLD_RULES = ("quantile", "mean_std")
OOD_COUNT = 2000  # images of each set in the out-of-distribution test (2,000 + 2,000)


@dataclass(frozen=True)
class Detection:
    """What one threshold does to a normal and an anomalous set."""

    threshold: float
    detection_rate: float  # share of anomalies flagged (true-positive rate, recall)
    false_alarm_rate: float  # share of normal images flagged (false-positive rate)
    detected: int
    false_alarms: int


def reconstruction_scores(model: Autoencoder, images: torch.Tensor,
                          labels: torch.Tensor | None = None) -> np.ndarray:
    """(N, 1, 28, 28) in [0, 1] (or (N, 28, 28) uint8) -> (N,) mean squared error per pixel
    of each reconstruction.

    Labels only matter to a conditional model; without them every image is given label 0.
    """
    if labels is None:
        labels = torch.zeros(len(images), dtype=torch.long)
    return encode_dataset(model, images, labels).errors.double().numpy()


def quantile_threshold(normal_scores: np.ndarray, quantile: float) -> float:
    """The `quantile` of the normal scores: about 1 - quantile of normal images are flagged."""
    if not 0.0 < quantile < 1.0:
        raise ValueError(f"quantile={quantile!r} must be in (0, 1)")
    return float(np.quantile(_scores(normal_scores, "normal_scores"), quantile))


def mean_std_threshold(normal_scores: np.ndarray, k: float) -> float:
    """Mean + k standard deviations of the normal scores (the classic 3-sigma rule at k=3)."""
    scores = _scores(normal_scores, "normal_scores")
    return float(scores.mean() + k * scores.std())


def threshold(normal_scores: np.ndarray, rule: str, value: float) -> float:
    """A threshold by `rule`: "quantile" (value = quantile) or "mean_std" (value = k)."""
    if rule == "quantile":
        return quantile_threshold(normal_scores, value)
    if rule == "mean_std":
        return mean_std_threshold(normal_scores, value)
    raise ValueError(f"rule={rule!r} is not one of {', '.join(THRESHOLD_RULES)}")


def detect(normal_scores: np.ndarray, anomalous_scores: np.ndarray,
           threshold_value: float) -> Detection:
    """Detection and false-alarm rates when scores above `threshold_value` are flagged."""
    normal = _scores(normal_scores, "normal_scores")
    anomalous = _scores(anomalous_scores, "anomalous_scores")
    detected = int((anomalous > threshold_value).sum())
    false_alarms = int((normal > threshold_value).sum())
    return Detection(float(threshold_value), detected / len(anomalous),
                     false_alarms / len(normal), detected, false_alarms)


def roc(normal_scores: np.ndarray, anomalous_scores: np.ndarray
        ) -> tuple[np.ndarray, np.ndarray, float]:
    """(false-alarm rates, detection rates, AUC) over every threshold."""
    normal = _scores(normal_scores, "normal_scores")
    anomalous = _scores(anomalous_scores, "anomalous_scores")
    fpr, tpr, _ = roc_curve(normal, anomalous)
    return fpr, tpr, roc_auc(normal, anomalous)


def ood_auc(model: Autoencoder, normal: Dataset, other: Dataset,
            count: int = OOD_COUNT) -> float:
    """ROC AUC of the reconstruction error at telling the first `count` images of another
    dataset (Fashion-MNIST for a digit model, digits for a Fashion-MNIST one) from the first
    `count` of the model's own test set (fewer of both when either has fewer): the classic
    out-of-distribution test."""
    count = min(count, len(normal), len(other))
    normal_scores = reconstruction_scores(model, normal.images[:count], normal.labels[:count])
    other_scores = reconstruction_scores(model, other.images[:count])
    return roc(normal_scores, other_scores)[2]


def top_scoring(scores: np.ndarray, count: int) -> np.ndarray:
    """Indices of the `count` highest scores, highest first (ties keep their order)."""
    scores = np.asarray(scores, dtype=np.float64)
    order = np.argsort(-scores, kind="stable")
    return order[:max(0, count)]


def noise_images(count: int, seed: int = 0) -> torch.Tensor:
    """(count, 1, 28, 28) uniform noise in [0, 1]: an anomaly set that needs no data."""
    generator = torch.Generator().manual_seed(seed)
    return torch.rand(count, 1, 28, 28, generator=generator)


def _scores(scores: np.ndarray, name: str) -> np.ndarray:
    array = np.asarray(scores, dtype=np.float64).reshape(-1)
    if len(array) == 0:
        raise ValueError(f"{name} is empty")
    if not np.isfinite(array).all():
        raise ValueError(f"{name} hold NaN or infinite values")
    return array
