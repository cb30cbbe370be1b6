"""Is a latent space smooth? Decode the midpoints between codes of different digits and ask a
classifier of real digits whether each one is a digit.

The tutorials' claim (004): "a standard autoencoder has no constraint on the structure of the
latent space, so interpolating between two latent vectors produces garbage. VAEs regularise the
latent space ... enabling smooth interpolation". The measure here: for many pairs of real digits
of different classes, decode the midpoint of the straight line between their codes and count
the midpoints that a probe trained on real digits' *images* classifies confidently (largest
class probability >= CONFIDENT). The probe sees pixels, never codes, so the same judge scores
every model, whatever its code size. Its own ceiling, the share of held-out real digits it
classifies confidently, says what a perfect decoder would score.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ae_core.latent import decode_codes
from ae_core.models import Autoencoder

CONFIDENT = 0.9  # the probe's largest class probability for "confidently a digit"
PAIRS = 200  # digit pairs per measurement
HELD_OUT = 0.2  # share of the probe's digits kept back to measure its own ceiling


class ImageProbe:
    """A logistic regression on the 784 pixels of real digits (scikit-learn's API).

    `fit` keeps a seeded fifth of the digits back: `held_out_accuracy_` and
    `held_out_confident_` (the share of real digits it classifies with probability
    >= `threshold`) are the ceiling a decoder's midpoints are compared with.
    """

    def __init__(self, threshold: float = CONFIDENT, seed: int = 0) -> None:
        self.threshold = threshold
        self.seed = seed

    def fit(self, images: torch.Tensor, labels: torch.Tensor) -> ImageProbe:
        """(N, 1, 28, 28) real digits in [0, 1], (N,) classes."""
        from sklearn.linear_model import LogisticRegression

        if not 0.0 < self.threshold < 1.0:
            raise ValueError(f"threshold={self.threshold!r} must lie strictly between 0 and 1")
        pixels = images.flatten(1).float().cpu().numpy()
        classes = labels.cpu().numpy()
        order = np.random.default_rng(self.seed).permutation(len(pixels))
        kept = max(1, int(len(pixels) * HELD_OUT))
        test, train = order[:kept], order[kept:]
        self.model_ = LogisticRegression(max_iter=500).fit(pixels[train], classes[train])
        probabilities = self.model_.predict_proba(pixels[test])
        self.held_out_accuracy_ = float(
            (self.model_.classes_[probabilities.argmax(1)] == classes[test]).mean())
        self.held_out_confident_ = float((probabilities.max(1) >= self.threshold).mean())
        return self

    def to_state(self) -> dict:
        """What a fitted probe is, as JSON-able numbers (ui/precomputed.py stores it)."""
        return {"threshold": self.threshold, "seed": self.seed,
                "coef": self.model_.coef_.tolist(), "intercept": self.model_.intercept_.tolist(),
                "classes": self.model_.classes_.tolist(), "dtype": str(self.model_.coef_.dtype),
                "held_out_accuracy": self.held_out_accuracy_,
                "held_out_confident": self.held_out_confident_}

    @classmethod
    def from_state(cls, saved: dict) -> ImageProbe:
        """The probe `to_state` described, without fitting it again."""
        from sklearn.linear_model import LogisticRegression

        probe = cls(saved["threshold"], saved["seed"])
        probe.model_ = LogisticRegression(max_iter=500)
        probe.model_.coef_ = np.asarray(saved["coef"], dtype=saved["dtype"])
        probe.model_.intercept_ = np.asarray(saved["intercept"], dtype=saved["dtype"])
        probe.model_.classes_ = np.asarray(saved["classes"])
        probe.model_.n_features_in_ = probe.model_.coef_.shape[1]
        probe.held_out_accuracy_ = saved["held_out_accuracy"]
        probe.held_out_confident_ = saved["held_out_confident"]
        return probe

    def predict_proba(self, images: torch.Tensor) -> np.ndarray:
        """(N, 1, 28, 28) -> (N, classes) probabilities."""
        return self.model_.predict_proba(images.flatten(1).float().cpu().numpy())

    def judge(self, images: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        """(N, 1, 28, 28) -> (N,) predicted classes and (N,) their probabilities."""
        probabilities = self.predict_proba(images)
        return self.model_.classes_[probabilities.argmax(1)], probabilities.max(1)


def different_class_pairs(labels: torch.Tensor, count: int = PAIRS,
                          seed: int = 0) -> torch.Tensor:
    """(N,) classes -> (count, 2) indices of random pairs whose classes differ (seeded)."""
    if len(torch.unique(labels)) < 2:
        raise ValueError("pairs of different classes need at least two classes")
    generator = torch.Generator().manual_seed(seed)
    pairs: list[torch.Tensor] = []
    found = 0
    while found < count:
        draws = torch.randint(len(labels), (2 * count, 2), generator=generator)
        draws = draws[labels[draws[:, 0]] != labels[draws[:, 1]]]
        pairs.append(draws)
        found += len(draws)
    return torch.cat(pairs)[:count]


@dataclass
class MidpointReport:
    """How a model's midpoints look to the probe."""

    fraction: float  # share of midpoints classified with probability >= threshold
    confidences: np.ndarray  # (P,) the probe's largest probability per midpoint
    predicted: np.ndarray  # (P,) the class it saw
    midpoints: torch.Tensor  # (P, 1, 28, 28) the decoded midpoints
    threshold: float


@torch.inference_mode()
def midpoint_report(model: Autoencoder, codes: torch.Tensor, labels: torch.Tensor,
                    pairs: torch.Tensor, probe: ImageProbe) -> MidpointReport:
    """(N, D) codes of real digits, (N,) classes, (P, 2) index pairs -> MidpointReport.

    The midpoint is halfway along the straight line between the two codes. A conditional
    model decodes it as the first digit's class (it cannot be told "half one, half another").
    """
    midpoints = (codes[pairs[:, 0]] + codes[pairs[:, 1]]) / 2  # (P, D)
    condition = labels[pairs[:, 0]] if model.is_conditional else None
    images = decode_codes(model, midpoints, condition)
    predicted, confidences = probe.judge(images)
    fraction = float((confidences >= probe.threshold).mean())
    return MidpointReport(fraction, confidences, predicted, images, probe.threshold)


RANDOM_CODES = 500  # codes drawn per region in the random-code test
REGIONS = ("box", "prior")


@torch.inference_mode()
def random_code_codes(model: Autoencoder, codes: torch.Tensor, region: str,
                      count: int = RANDOM_CODES, seed: int = 0) -> torch.Tensor:
    """(count, D) codes drawn at random: uniformly from the box the real codes occupy (each
    dimension's central 99 %) for "box", or from the model's prior for "prior"."""
    generator = torch.Generator().manual_seed(seed)
    if region == "prior":
        if not model.has_prior:
            raise ValueError("this model has no prior to draw from")
        return model.sample_prior(count, generator).cpu().float()
    if region != "box":
        raise ValueError(f"region={region!r} is not one of {', '.join(REGIONS)}")
    low = torch.quantile(codes.float(), 0.005, dim=0)
    high = torch.quantile(codes.float(), 0.995, dim=0)
    return low + (high - low) * torch.rand(count, codes.shape[1], generator=generator)


@torch.inference_mode()
def random_code_report(model: Autoencoder, codes: torch.Tensor, region: str,
                       probe: ImageProbe, count: int = RANDOM_CODES,
                       seed: int = 0) -> MidpointReport:
    """The midpoint test's second half: `count` random codes from `region` (random_code_codes)
    decoded and judged by the same probe. A conditional model decodes each as a random class."""
    drawn = random_code_codes(model, codes, region, count, seed)
    condition = None
    if model.is_conditional:
        condition = torch.randint(model.config.num_classes, (count,),
                                  generator=torch.Generator().manual_seed(seed + 1))
    images = decode_codes(model, drawn, condition)
    predicted, confidences = probe.judge(images)
    fraction = float((confidences >= probe.threshold).mean())
    return MidpointReport(fraction, confidences, predicted, images, probe.threshold)
