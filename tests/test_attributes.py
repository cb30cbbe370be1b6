"""Attribute directions (ae_core.attributes), MIG (ae_core.disentanglement) and the
`attributes` / `traverse` commands, on synthetic codes with known answers and on shipped
models with real digits."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.metrics import mutual_info_score

from ae_core.attribute_commands import study, traversal
from ae_core.attributes import (
    MEASUREMENTS_FILE,
    attribute_effects,
    class_direction,
    class_means,
    dimension_correlations,
    fit_direction,
    images_digest,
    measure_dataset,
    project,
    store_measurements,
    stored_measurements,
)
from ae_core.checkpoint import load_checkpoint
from ae_core.cli import main
from ae_core.disentanglement import _mutual_information, discretise, measure_disentanglement
from ae_core.morphometry import MEASUREMENTS, measure
from ae_core.smoothness import ImageProbe

CHECKPOINTS = Path(__file__).resolve().parents[1] / "checkpoints"
VAE_20 = CHECKPOINTS / "vae_20.safetensors"
needs_vae_20 = pytest.mark.skipif(not VAE_20.is_file(), reason="vae_20 is not shipped")
THICKNESS = MEASUREMENTS.index("thickness")


def test_a_linear_attribute_is_found_with_its_direction():
    rng = np.random.default_rng(0)
    codes = rng.normal(size=(20000, 6))
    weights = np.array([0.0, 3.0, 0.0, -4.0, 0.0, 0.0])
    values = codes @ weights + 0.1 * rng.normal(size=20000)
    direction = fit_direction(codes, values, "thickness")
    np.testing.assert_allclose(direction.direction, weights / 5.0, atol=0.02)
    assert direction.r2 > 0.99 and direction.r2_along > 0.99
    assert direction.code_sd == pytest.approx(1.0, rel=0.05)  # unit Gaussian codes
    assert direction.slope == pytest.approx(5.0, rel=0.05)  # +1 SD along it: +5
    moved = direction.step(torch.zeros(3, 6), torch.tensor([-1.0, 0.0, 2.0]))
    np.testing.assert_allclose(moved.numpy() @ weights, [-5.0, 0.0, 10.0], rtol=0.05)


def test_the_slider_line_follows_the_codes_not_a_quiet_predictor():
    # z[0] barely varies but predicts the measurement exactly; z[1] varies widely with it.
    # The regression leans on z[0]; the codes move along z[1] as the measurement grows, and
    # a decoder that ignores quiet units sees only that.
    rng = np.random.default_rng(6)
    values = rng.normal(size=3000)
    codes = np.stack([0.1 * values, values + rng.normal(size=3000)], axis=1)
    direction = fit_direction(codes, values, "thickness")
    assert direction.r2 > 0.95
    assert abs(direction.direction[1]) > 0.99 and direction.direction[1] > 0
    assert direction.r2_along == pytest.approx(0.5, abs=0.06)


def test_noise_predicts_nothing():
    rng = np.random.default_rng(1)
    direction = fit_direction(rng.normal(size=(1000, 4)), rng.normal(size=1000), "slant")
    assert direction.r2 < 0.05 and direction.r2_along < 0.05


def test_class_direction_moves_one_mean_onto_the_other():
    rng = np.random.default_rng(2)
    labels = np.repeat([0, 1, 2], 100)
    codes = rng.normal(size=(300, 3)) + np.eye(3)[labels] * 5
    means = class_means(codes, labels)
    step = class_direction(codes, labels, 0, 2)
    np.testing.assert_allclose(means[0] + step, means[2])
    assert project(means[2:3] - means[0:1], step)[0] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="class 7"):
        class_direction(codes, labels, 0, 7)


def test_correlations_per_dimension():
    rng = np.random.default_rng(3)
    codes = rng.normal(size=(500, 3))
    measurements = np.stack([codes[:, 1], -codes[:, 2], rng.normal(size=500)], axis=1)
    table = dimension_correlations(codes, measurements)
    assert table.shape == (3, 3)
    assert table[1, 0] == pytest.approx(1.0) and table[2, 1] == pytest.approx(-1.0)
    assert np.abs(table[:, 2]).max() < 0.15


def test_mutual_information_is_scikit_learns():
    rng = np.random.default_rng(4)
    first, second = rng.integers(0, 5, 400), rng.integers(0, 7, 400)
    second[:200] = first[:200]
    assert _mutual_information(first, second) == pytest.approx(mutual_info_score(first, second))


def test_mig_is_high_when_one_dimension_carries_each_factor_and_low_when_mixed():
    rng = np.random.default_rng(5)
    factors = rng.uniform(size=(3000, 6))
    labels = rng.integers(0, 10, 3000)
    aligned = np.concatenate([factors, labels[:, None] + rng.uniform(size=(3000, 1))], axis=1)
    separate = measure_disentanglement(aligned, factors, labels)
    mixed = measure_disentanglement(aligned @ rng.normal(size=(7, 7)), factors, labels)
    assert separate.mig > 0.5 and mixed.mig < 0.2
    assert separate.best.tolist() == list(range(7))
    assert separate.normalised.max() <= 1.0 + 1e-9
    assert discretise(np.array([[0.0], [np.nan], [1.0]])).ravel().tolist() == [1, 21, 20]


def test_stored_measurements_are_of_these_very_images(embedded, tmp_path):
    values = np.arange(len(embedded) * 6, dtype=float).reshape(-1, 6)
    path = tmp_path / "measurements.npz"
    store_measurements(embedded, values, path)
    np.testing.assert_array_equal(stored_measurements(embedded, path), values)
    other = embedded.subset(torch.arange(10))
    assert stored_measurements(other, path) is None
    assert images_digest(other.images) != images_digest(embedded.images)
    assert measure_dataset(other, path).shape == (10, 6)  # measured, not read


@pytest.mark.skipif(not MEASUREMENTS_FILE.is_file(), reason="no stored measurements")
def test_the_shipped_measurements_match_a_fresh_measurement(embedded):
    stored = stored_measurements(embedded)
    assert stored is not None, "checkpoints/attributes holds measurements of other images"
    fresh = measure(embedded.images[:40])
    outline = [0, 3, 4, 5]  # area, slant, width, height: no skeleton, no tie-breaking
    np.testing.assert_allclose(stored[:40, outline], fresh[:, outline], rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(stored[:40], fresh, rtol=0.1)


@needs_vae_20
def test_the_thickness_direction_of_a_real_model_thickens_its_digits(embedded):
    checkpoint = load_checkpoint(VAE_20)
    result = study(checkpoint, embedded)
    assert result.directions["thickness"].r2 > 0.4
    assert result.directions["slant"].r2 > 0.6
    probe = ImageProbe().fit(embedded.float_images()[:1000], embedded.labels[:1000])
    effects = attribute_effects(checkpoint.model, torch.as_tensor(result.codes).float(),
                                embedded.labels, result.directions, probe, count=60)
    assert effects["thickness"].change > 0.1  # px, measured on the decodes
    assert effects["slant"].change > 2.0  # degrees
    assert 0.3 < effects["thickness"].class_kept <= 1.0
    strip = traversal(checkpoint, embedded, "thickness", 5, 3, result)
    assert strip.shape == (5, 1, 28, 28)
    along = measure(strip)[:, THICKNESS]
    assert along[-1] > along[0]


@needs_vae_20
def test_the_commands(capsys, tmp_path):
    table = tmp_path / "dims.csv"
    assert main(["attributes", str(VAE_20), "--csv", str(table)]) == 0
    out = capsys.readouterr().out
    assert "thickness  R²" in out and "MIG" in out and "5,000 images" in out
    rows = table.read_text().splitlines()
    assert len(rows) == 21 and rows[0].startswith("dimension,corr_area")
    strip = tmp_path / "strip.npy"
    assert main(["traverse", str(VAE_20), "--attribute", "thickness", "--steps", "7",
                 "--out", str(strip)]) == 0
    array = np.load(strip)
    assert array.shape == (7, 28, 28) and 0.0 <= array.min() and array.max() <= 1.0
    png = tmp_path / "strip.png"
    assert main(["traverse", str(VAE_20), "--attribute", "slant", "--out", str(png)]) == 0
    assert png.read_bytes()[:4] == b"\x89PNG"
    capsys.readouterr()
    assert main(["traverse", str(VAE_20), "--attribute", "slant", "--out",
                 str(tmp_path / "strip.gif")]) == 2
    assert "must end in .npy or .png" in capsys.readouterr().err
    assert main(["traverse", str(VAE_20), "--attribute", "slant", "--digit", "9999",
                 "--out", str(strip)]) == 2


def test_a_tiny_beta_sweep_scores_each_beta(embedded):
    from ae_core.disentanglement import beta_sweep, sweep_markdown, sweep_summary

    images = embedded.float_images()[:600]
    values = measure_dataset(embedded)[:600]
    rows = beta_sweep(images, embedded.labels[:600], values, betas=(1.0, 4.0), latent_dim=3,
                      epochs=1, hidden_sizes=(32,), seeds=(0,))
    assert [row.beta for row in rows] == [1.0, 4.0]
    assert all(0.0 <= row.mig <= 1.0 and np.isfinite(row.recon_loss) for row in rows)
    assert rows[1].kl < rows[0].kl  # a larger beta pays less KL
    table = sweep_markdown(rows)
    assert table.count("\n") == 4 and "| 4 | 0 |" in table
    assert set(sweep_summary(rows)) == {1.0, 4.0}


def test_analogies():
    from ae_core.attributes import analogy, analogy_grid

    a, b, c = torch.tensor([3.0, 1.0]), torch.tensor([1.0, 1.0]), torch.tensor([0.0, 5.0])
    assert analogy(a, b, c).tolist() == [2.0, 5.0]
    means = torch.tensor([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    codes = torch.tensor([[1.0, 2.0], [11.0, -1.0]])  # a 0 with style (1, 2), a 1 with (1, -1)
    grid = analogy_grid(codes, torch.tensor([0, 1]), means).reshape(2, 3, 2)
    torch.testing.assert_close(grid[0], means + torch.tensor([1.0, 2.0]))
    torch.testing.assert_close(grid[1], means + torch.tensor([1.0, -1.0]))
    torch.testing.assert_close(grid[1, 1], codes[1])  # its own class gives the digit back
