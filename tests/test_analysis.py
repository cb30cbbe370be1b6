"""Metrics against direct formulas and scikit-learn, anomaly thresholds, projections' edge
cases, sweeps and the analysis charts. Only the tests marked slow fit UMAP (one cold start)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score

from ae_core import anomaly, projection
from ae_core.checkpoint import load_checkpoint, save_checkpoint
from ae_core.config import ModelConfig, TrainConfig
from ae_core.data import Dataset
from ae_core.figures import charts
from ae_core.latent import encode_dataset
from ae_core.metrics import psnr, roc_auc, roc_curve, ssim
from ae_core.models import build_model
from ae_core.noise import corrupt
from ae_core.sweep import (
    bottleneck_sweep,
    corrupted_copies,
    denoise,
    input_psnr,
    noise_levels,
    pca_curve,
    psnr_against_noise,
)

SHIPPED_AE = Path(__file__).resolve().parents[1] / "checkpoints" / "ae_32.safetensors"


def _noisy(images: torch.Tensor, std: float, seed: int = 0) -> torch.Tensor:
    return corrupt(images, "gaussian", std, torch.Generator().manual_seed(seed))


# --- PSNR and SSIM against their formulas ---------------------------------------------------

def test_psnr_matches_the_formula_on_real_digits(batch):
    images, _ = batch
    noisy = _noisy(images, 0.2)
    x, y = images.double().numpy(), noisy.double().numpy()
    expected = [10 * np.log10(1.0 / np.mean((a - b) ** 2)) for a, b in zip(x, y, strict=True)]
    np.testing.assert_allclose(psnr(images, noisy).numpy(), expected, rtol=1e-5)
    assert (psnr(images, _noisy(images, 0.4)) < psnr(images, noisy)).all()


def _ssim_direct(x: np.ndarray, y: np.ndarray) -> float:
    """Wang et al. (2004) written out window by window: Gaussian 11x11, sigma 1.5, valid."""
    coords = np.arange(11) - 5
    weights = np.exp(-(coords[:, None] ** 2 + coords[None, :] ** 2) / (2 * 1.5**2))
    weights /= weights.sum()
    c1, c2 = 0.01**2, 0.03**2
    values = []
    for top in range(x.shape[0] - 10):
        for left in range(x.shape[1] - 10):
            a, b = x[top:top + 11, left:left + 11], y[top:top + 11, left:left + 11]
            mu_a, mu_b = (weights * a).sum(), (weights * b).sum()
            var_a = (weights * (a - mu_a) ** 2).sum()
            var_b = (weights * (b - mu_b) ** 2).sum()
            cov = (weights * (a - mu_a) * (b - mu_b)).sum()
            values.append((2 * mu_a * mu_b + c1) * (2 * cov + c2)
                          / ((mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2)))
    return float(np.mean(values))


def test_ssim_matches_the_windowed_formula(batch):
    images, _ = batch
    images = images[:4]
    noisy = _noisy(images, 0.3)
    expected = [_ssim_direct(a[0], b[0]) for a, b in zip(images.double().numpy(),
                                                         noisy.double().numpy(), strict=True)]
    np.testing.assert_allclose(ssim(images, noisy).numpy(), expected, atol=2e-4)
    np.testing.assert_allclose(ssim(images, images).numpy(), 1.0, atol=1e-5)
    assert (ssim(images, _noisy(images, 0.6)) < ssim(images, noisy)).all()


# --- ROC --------------------------------------------------------------------------------------

@pytest.mark.parametrize("seed", [0, 1, 2])
def test_roc_auc_matches_scikit_learn_with_ties(seed):
    generator = np.random.default_rng(seed)
    normal = np.round(generator.normal(0.0, 1.0, 300), 1)  # rounding makes many ties
    anomalous = np.round(generator.normal(0.8, 1.0, 120), 1)
    truth = np.r_[np.zeros(len(normal)), np.ones(len(anomalous))]
    expected = roc_auc_score(truth, np.r_[normal, anomalous])
    assert roc_auc(normal, anomalous) == pytest.approx(expected, abs=1e-12)
    fpr, tpr, auc = anomaly.roc(normal, anomalous)
    assert auc == pytest.approx(expected, abs=1e-12)
    assert (fpr[0], tpr[0], fpr[-1], tpr[-1]) == (0.0, 0.0, 1.0, 1.0)
    assert (np.diff(fpr) >= 0).all() and (np.diff(tpr) >= 0).all()


def test_roc_of_a_hand_checked_case():
    """Normal 1, 2, 3; anomalous 2.5, 4. Flagging scores >= t for t = 4, 3, 2.5, 2, 1 gives
    (FPR, TPR) (0, 1/2), (1/3, 1/2), (1/3, 1), (2/3, 1), (1, 1); the area is 5/6, the share
    of (anomalous, normal) pairs ranked right: 4 beats all three, 2.5 beats 1 and 2."""
    fpr, tpr, auc = anomaly.roc(np.array([1.0, 2.0, 3.0]), np.array([2.5, 4.0]))
    np.testing.assert_allclose(fpr, [0, 0, 1 / 3, 1 / 3, 2 / 3, 1])
    np.testing.assert_allclose(tpr, [0, 0.5, 0.5, 1, 1, 1])
    assert auc == pytest.approx(5 / 6)


def test_ood_auc_of_a_dataset_against_itself_is_chance(digits: Dataset):
    torch.manual_seed(0)
    model = build_model(ModelConfig(family="ae", latent_dim=4, hidden_sizes=(32,)))
    assert anomaly.ood_auc(model, digits, digits, count=50) == pytest.approx(0.5)


def test_roc_of_separated_and_identical_scores():
    assert roc_auc(np.array([0.1, 0.2]), np.array([0.5, 0.9])) == 1.0
    assert roc_auc(np.array([0.5, 0.9]), np.array([0.1, 0.2])) == 0.0
    assert roc_auc(np.full(5, 0.3), np.full(7, 0.3)) == pytest.approx(0.5)
    fpr, tpr, thresholds = roc_curve(np.array([0.1, 0.2]), np.array([0.5, 0.9]))
    assert thresholds[0] == np.inf and len(fpr) == len(tpr) == len(thresholds)


# --- Anomaly thresholds -----------------------------------------------------------------------

def test_quantile_threshold_sets_the_false_alarm_rate():
    normal = np.random.default_rng(0).exponential(1.0, 10_000)
    anomalous = normal + 3.0
    for quantile in (0.5, 0.9, 0.99):
        cut = anomaly.threshold(normal, "quantile", quantile)
        found = anomaly.detect(normal, anomalous, cut)
        assert found.false_alarm_rate == pytest.approx(1 - quantile, abs=1e-3)
        assert found.false_alarms == int((normal > cut).sum())
        assert found.detection_rate > found.false_alarm_rate


def test_mean_std_threshold_and_strict_comparison():
    normal = np.array([1.0, 2.0, 3.0, 4.0])
    assert anomaly.threshold(normal, "mean_std", 2.0) == pytest.approx(
        normal.mean() + 2 * normal.std())
    found = anomaly.detect(normal, np.array([4.0, 5.0, 6.0]), 4.0)  # 4.0 is not above 4.0
    assert (found.detected, found.false_alarms) == (2, 0)
    assert found.detection_rate == pytest.approx(2 / 3) and found.false_alarm_rate == 0.0
    higher = anomaly.threshold(normal, "mean_std", 3.0)
    assert higher > anomaly.threshold(normal, "mean_std", 1.0)


@pytest.mark.parametrize("call, message", [
    (lambda: anomaly.threshold(np.ones(3), "quantile", 1.0), "quantile"),
    (lambda: anomaly.threshold(np.ones(3), "median", 0.5), "rule"),
    (lambda: anomaly.detect(np.array([]), np.ones(2), 0.5), "empty"),
    (lambda: anomaly.detect(np.array([np.nan]), np.ones(2), 0.5), "NaN"),
])
def test_threshold_refuses_bad_input_by_name(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_top_scoring_and_noise_images():
    assert anomaly.top_scoring(np.array([0.2, 0.9, 0.1, 0.9, 0.5]), 3).tolist() == [1, 3, 4]
    noise = anomaly.noise_images(4, seed=1)
    assert noise.shape == (4, 1, 28, 28) and 0 <= noise.min() and noise.max() <= 1
    assert torch.equal(noise, anomaly.noise_images(4, seed=1))


@pytest.mark.skipif(not SHIPPED_AE.is_file(), reason="checkpoints/ae_32.safetensors not shipped")
def test_shipped_model_flags_noise_as_anomalous(digits: Dataset):
    model = load_checkpoint(SHIPPED_AE).model
    normal = anomaly.reconstruction_scores(model, digits.float_images(), digits.labels)
    noise = anomaly.reconstruction_scores(model, anomaly.noise_images(100))
    expected = encode_dataset(model, digits.float_images(), digits.labels).errors.numpy()
    np.testing.assert_allclose(normal, expected, rtol=1e-6)
    fpr, tpr, auc = anomaly.roc(normal, noise)
    assert auc > 0.99


# --- Projections: edge cases without UMAP -----------------------------------------------------

def test_one_dimensional_codes_are_drawn_on_their_own_axis():
    codes = np.linspace(-1, 1, 50)[:, None]
    result = projection.project(codes, "umap")  # no projection, so no UMAP either
    assert result.method == "identity" and result.coords.shape == (50, 2)
    np.testing.assert_allclose(result.coords[:, 0], codes[:, 0], rtol=1e-6)
    assert np.abs(result.coords[:, 1]).max() <= 0.05 * 2 + 1e-6
    assert "jitter" in result.axis_titles[1]


def test_two_dimensional_codes_are_shown_as_they_are():
    codes = torch.randn(30, 2)
    for method in projection.METHODS:
        result = projection.project(codes, method)
        assert result.method == "identity" and result.axis_titles == ("z[0]", "z[1]")
        np.testing.assert_allclose(result.coords, codes.numpy(), rtol=1e-6)


def test_constant_codes_make_one_point():
    for method in projection.METHODS:
        result = projection.project(np.full((20, 8), 0.7), method)
        assert result.method == "constant" and not result.coords.any()
        assert "identical" in result.note


def test_too_few_distinct_codes_fall_back_to_pca_without_umap():
    codes = np.repeat(np.eye(4, 8), 5, axis=0)  # 20 codes, 4 distinct
    for method in ("umap", "tsne"):
        result = projection.project(codes, method, n_neighbors=15)
        assert result.method == "pca" and "4 distinct codes" in result.note
        assert result.coords.shape == (20, 2) and np.isfinite(result.coords).all()
        # Duplicates land on the same spot.
        np.testing.assert_allclose(result.coords[0], result.coords[1], atol=1e-6)


def test_pca_of_duplicates_and_few_points():
    codes = np.random.default_rng(0).normal(size=(3, 16))
    codes = np.concatenate([codes, codes])
    result = projection.project(codes, "pca")
    assert result.method == "pca" and result.coords.shape == (6, 2)
    np.testing.assert_allclose(result.coords[:3], result.coords[3:], atol=1e-6)
    assert result.axis_titles[0].startswith("PC1")


def test_tsne_with_fewer_points_than_its_perplexity():
    generator = np.random.default_rng(0)
    codes = np.concatenate([generator.normal(0, 0.1, (8, 6)), generator.normal(5, 0.1, (8, 6))])
    codes = np.concatenate([codes, codes[:4]])  # 4 duplicates
    result = projection.project(codes, "tsne", perplexity=30)
    assert result.method == "tsne" and result.coords.shape == (20, 2)
    assert "perplexity lowered" in result.note and "4 duplicate" in result.note
    np.testing.assert_allclose(result.coords[16:], result.coords[:4], atol=1e-6)


@pytest.mark.parametrize("codes, method, message", [
    (np.array([[np.nan, 1.0]]), "pca", "NaN"),
    (np.zeros((0, 4)), "pca", "non-empty"),
    (np.zeros(5), "pca", "non-empty"),
    (np.zeros((5, 4)), "isomap", "method"),
])
def test_project_refuses_bad_input_by_name(codes, method, message):
    with pytest.raises(ValueError, match=message):
        projection.project(codes, method)


def test_pca_projection_keeps_its_api():
    codes = torch.randn(100, 5)
    pca = projection.PCAProjection(2).fit(codes)
    assert pca.components_.shape == (2, 5) and pca.transform(codes[:7]).shape == (7, 2)
    np.testing.assert_allclose(pca.fit_transform(codes), pca.transform(codes), atol=1e-5)
    assert pca.explained_variance_ratio_.sum() <= 1.0 + 1e-9


def test_precomputed_projection_lookup():
    key = projection.precomputed_key("umap", "embedded")
    assert key == "umap_embedded_15_0.1"
    extras = {key: torch.randn(10, 2).half()}
    assert projection.precomputed_projection(extras, key, 10).shape == (10, 2)
    assert projection.precomputed_projection(extras, key, 11) is None  # another dataset size
    assert projection.precomputed_projection(extras, "umap_embedded_30_0.1", 10) is None


def test_map_csv_has_one_row_per_image():
    codes = torch.randn(6, 3)
    data = projection.map_csv(codes, np.zeros((6, 2)), np.arange(6), np.full(6, 0.5)).decode()
    lines = data.strip().splitlines()
    assert lines[0] == "index,label,error,x,y,z0,z1,z2" and len(lines) == 7
    assert lines[3].startswith("2,2,0.5,0,0,")
    with pytest.raises(ValueError, match="same images"):
        projection.map_csv(codes, np.zeros((5, 2)), np.arange(6), np.zeros(6))


# --- Projections: UMAP (slow: the first fit compiles numba) -----------------------------------

@pytest.mark.slow
def test_umap_edge_cases_and_clusters():
    generator = np.random.default_rng(0)
    blobs = np.concatenate([generator.normal(0, 0.2, (20, 8)), generator.normal(6, 0.2, (20, 8))])
    codes = np.concatenate([blobs, blobs[:5]])  # 5 duplicates; 40 distinct < 100 neighbours
    result = projection.project(codes, "umap", n_neighbors=100, min_dist=0.1)
    assert result.method == "umap" and result.coords.shape == (45, 2)
    assert np.isfinite(result.coords).all()
    assert "used 39" in result.note and "5 duplicate" in result.note
    np.testing.assert_allclose(result.coords[40:], result.coords[:5], atol=1e-6)
    first, second = result.coords[:20], result.coords[20:40]
    within = np.linalg.norm(first - first.mean(0), axis=1).max()
    between = np.linalg.norm(first.mean(0) - second.mean(0))
    assert between > 2 * within  # the two blobs stay apart
    umap = projection.UMAPProjection(n_neighbors=5, random_state=0).fit(blobs)
    assert umap.embedding_.shape == (40, 2) and umap.n_neighbors_ == 5
    assert umap.transform(blobs[:3]).shape == (3, 2)


def test_embedded_umap_extras_round_trip_through_a_checkpoint(tmp_path, monkeypatch, embedded):
    """The plumbing around UMAP (which codes, which key, stored and found again); UMAP itself
    is replaced by PCA here so the default run pays UMAP's cold start only once."""
    asked = []

    def fake_project(codes, method, n_neighbors, min_dist, **_):
        asked.append((tuple(codes.shape), method, n_neighbors, min_dist))
        return projection.Projection(projection.PCAProjection(2).fit_transform(codes), method,
                                     ("", ""))

    monkeypatch.setattr(projection, "project", fake_project)
    torch.manual_seed(0)
    model = build_model(ModelConfig(family="ae", latent_dim=4, hidden_sizes=(16,)))
    extras = projection.embedded_umap_extras(model, n_neighbors=30, min_dist=0.25)
    assert asked == [((len(embedded), 4), "umap", 30, 0.25)]
    assert list(extras) == ["umap_embedded_30_0.25"]
    path = save_checkpoint(tmp_path / "tiny.safetensors", model, extras=extras)
    stored = load_checkpoint(path).extras
    coords = projection.precomputed_projection(stored, "umap_embedded_30_0.25", len(embedded))
    np.testing.assert_allclose(coords, extras["umap_embedded_30_0.25"].numpy())


# --- Sweeps -------------------------------------------------------------------------------

def test_pca_curve_falls_with_components_and_matches_the_baseline(embedded: Dataset):
    from ae_core.metrics import pca_baseline_mse

    train = embedded.subset(torch.arange(0, 1000)).float_images()
    test = embedded.subset(torch.arange(4000, 4300)).float_images()
    curve = pca_curve(train, test, (1, 4, 16, 64))
    assert (np.diff(curve) < 0).all()
    assert curve[2] == pytest.approx(pca_baseline_mse(train, test, 16), rel=0.02)


def test_noise_curve_inputs_are_shared_and_get_worse(digits: Dataset):
    images = digits.float_images()[:50]
    levels = noise_levels("gaussian", 5)
    assert levels[0] > 0.0 and len(levels) == 5 and levels[-1] == pytest.approx(0.8)
    copies = corrupted_copies(images, "gaussian", levels)
    again = corrupted_copies(images, "gaussian", levels)
    assert all(torch.equal(a, b) for a, b in zip(copies, again, strict=True))
    baseline = input_psnr(images, copies)
    assert (np.diff(baseline) < 0).all()
    model = build_model(ModelConfig(family="ae", latent_dim=4, hidden_sizes=(16,)))
    curve = psnr_against_noise(model, images, digits.labels[:50], copies)
    assert curve.shape == (5,) and np.isfinite(curve).all()
    result = denoise(model, images, copies[2], digits.labels[:50])
    assert result.recon.shape == images.shape and result.psnr.shape == result.ssim.shape == (50,)


def test_bottleneck_sweep_trains_one_model_per_size_with_progress(digits: Dataset):
    calls: list[tuple[float, str]] = []
    points = bottleneck_sweep([8, 2, 8], ModelConfig(family="ae", hidden_sizes=(32,)),
                              TrainConfig(epochs=1, batch_size=256), digits.float_images(),
                              digits.labels, lambda fraction, message: calls.append(
                                  (fraction, message)))
    assert [point.latent_dim for point in points] == [2, 8]
    assert all(0 < point.mse < 0.5 for point in points)
    fractions = [fraction for fraction, _ in calls]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert any("latent size 8" in message for _, message in calls)
    assert bottleneck_sweep([2, 4], ModelConfig(family="ae", hidden_sizes=(32,)),
                            TrainConfig(epochs=1), digits.float_images(), digits.labels,
                            should_stop=lambda: True) == []
    with pytest.raises(ValueError, match="latent_dims"):
        bottleneck_sweep([], ModelConfig(), TrainConfig(), digits.float_images(), digits.labels)


# --- Charts --------------------------------------------------------------------------------

def test_latent_map_names_every_point_and_colours_by_error():
    coords = np.random.default_rng(0).normal(size=(30, 2))
    labels = np.arange(30) % 3
    errors = np.linspace(0.01, 0.1, 30)
    by_label = charts.latent_map(coords, labels, errors, ["a", "b", "c"], selected=[4, 7])
    traces = json.loads(by_label.to_json())["data"]
    assert [trace["name"] for trace in traces] == ["a", "b", "c", "selected"]
    indices = sorted(int(row[0]) for trace in by_label.data[:3] for row in trace.customdata)
    assert indices == list(range(30))
    assert [int(row[0]) for row in by_label.data[3].customdata] == [4, 7]
    by_error = charts.latent_map(coords, labels, errors, ["a", "b", "c"], colour_by="error")
    assert len(by_error.data) == 1 and by_error.data[0].marker.colorscale is not None
    assert by_error.data[0].marker.cmax <= errors.max()


def test_latent_map_png_is_a_png():
    pytest.importorskip("matplotlib")
    data = charts.latent_map_png(np.random.default_rng(0).normal(size=(40, 2)),
                                 np.arange(40) % 10, np.linspace(0, 1, 40),
                                 [str(d) for d in range(10)])
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000


def test_error_histogram_and_roc_figure():
    figure = charts.error_histogram(np.array([0.01, 0.02]), np.array([0.2, 0.3]), 0.05)
    assert len(figure.data) == 2 and figure.layout.shapes[0].x0 == pytest.approx(np.log10(0.05))
    roc = charts.roc_figure(np.array([0, 0.5, 1]), np.array([0, 0.9, 1]), 0.7, (0.5, 0.9))
    assert [trace.name for trace in roc.data] == ["chance", "ROC (AUC 0.700)", "threshold"]


def test_ssim_matches_scikit_image_on_real_digits(digits: Dataset):
    """Our SSIM (kept: one batched convolution instead of a loop over digits) against
    scikit-image's with the same settings, on real digits and their noisy copies."""
    skimage_metrics = pytest.importorskip("skimage.metrics")
    images = digits.float_images()[:40]
    noisy = corrupt(images, "gaussian", 0.3, torch.Generator().manual_seed(0))
    ours = ssim(images, noisy)
    expected = [skimage_metrics.structural_similarity(
        a[0].double().numpy(), b[0].double().numpy(), data_range=1.0, gaussian_weights=True,
        sigma=1.5, use_sample_covariance=False) for a, b in zip(images, noisy, strict=True)]
    np.testing.assert_allclose(ours.numpy(), expected, atol=1e-4)
