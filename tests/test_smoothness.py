"""The midpoint measure: pairs of different classes, a probe of real digits' pixels as the judge."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ae_core.models import REGISTRY
from ae_core.smoothness import ImageProbe, different_class_pairs, midpoint_report
from tests.conftest import family_config


@pytest.fixture(scope="module")
def probe(digits) -> ImageProbe:
    return ImageProbe().fit(digits.float_images(), digits.labels)


def test_pairs_are_seeded_and_of_different_classes(digits):
    pairs = different_class_pairs(digits.labels, 50, seed=1)
    assert pairs.shape == (50, 2)
    assert (digits.labels[pairs[:, 0]] != digits.labels[pairs[:, 1]]).all()
    assert torch.equal(pairs, different_class_pairs(digits.labels, 50, seed=1))
    assert not torch.equal(pairs, different_class_pairs(digits.labels, 50, seed=2))
    with pytest.raises(ValueError, match="two classes"):
        different_class_pairs(torch.zeros(5, dtype=torch.long), 3)


def test_the_probe_knows_real_digits_and_doubts_blends(probe, digits):
    assert probe.held_out_accuracy_ > 0.6  # 160 digits to learn from, 40 to test
    images = digits.float_images()
    pairs = different_class_pairs(digits.labels, 100, seed=0)
    blends = (images[pairs[:, 0]] + images[pairs[:, 1]]) / 2  # two faint digits on each other
    _, on_blends = probe.judge(blends)
    _, on_real = probe.judge(images[pairs[:, 0]])
    assert on_blends.mean() < on_real.mean()


class Decoder(torch.nn.Module):
    """A stand-in whose decoder draws a fixed digit wherever the code is: all midpoints alike."""

    is_conditional = False

    def __init__(self, image: torch.Tensor) -> None:
        super().__init__()
        self.image = torch.nn.Parameter(image, requires_grad=False)

    def decode(self, codes: torch.Tensor, labels=None) -> torch.Tensor:
        return self.image.expand(len(codes), -1, -1, -1)


def test_a_decoder_of_real_digits_scores_its_probes_confidence(probe, digits):
    images = digits.float_images()
    _, confidence = probe.judge(images)
    sure, unsure = int(np.argmax(confidence)), int(np.argmin(confidence))
    pairs = different_class_pairs(digits.labels, 20)
    codes = torch.randn(len(digits), 3)
    assert midpoint_report(Decoder(images[sure]), codes, digits.labels, pairs,
                           probe).fraction == 1.0
    assert midpoint_report(Decoder(images[unsure]), codes, digits.labels, pairs,
                           probe).fraction == 0.0


@pytest.mark.parametrize("family", ["ae", "vae", "cvae"])
def test_the_report_of_a_real_model(family, probe, digits):
    torch.manual_seed(0)
    model = REGISTRY[family](family_config(family, latent_dim=3, hidden_sizes=(16,))).eval()
    with torch.inference_mode():
        codes = model.embed(digits.float_images(), digits.labels)
    pairs = different_class_pairs(digits.labels, 30)
    report = midpoint_report(model, codes, digits.labels, pairs, probe)
    assert report.midpoints.shape == (30, 1, 28, 28)
    assert report.confidences.shape == (30,) and report.predicted.shape == (30,)
    assert report.fraction == pytest.approx(float((report.confidences >= 0.9).mean()))
