"""The latent map, denoising, anomaly and bottleneck pages under AppTest, on real checkpoints.

UMAP is never fitted here except in the one slow test: the others record the background job
the map asks for, or use a projection stored in the checkpoint.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

from ae_core.checkpoint import save_checkpoint
from ae_core.config import ModelConfig, TrainConfig
from ae_core.data import Dataset, load_embedded
from ae_core.models import build_model
from ae_core.projection import precomputed_key
from ae_core.train import fit
from ui import projections, state
from ui.projections import ProjectionJobs

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
SHIPPED_AE = ROOT / "checkpoints" / "ae_32.safetensors"
UMAP_KEY = precomputed_key("umap", "embedded")


def _train(folder: Path, name: str, model_config: ModelConfig, train_data: Dataset,
           extras_for=None, **train_values) -> None:
    torch.manual_seed(0)
    model = build_model(model_config)
    config = TrainConfig(epochs=1, batch_size=64, **train_values)
    result = fit(model, train_data, None, config)
    extras = extras_for(result.model) if extras_for else None
    save_checkpoint(folder / f"{name}.safetensors", result.model, config,
                    result.final_metrics(), {"dataset": "mnist-embedded"}, extras)


def _stored_map(model) -> dict[str, torch.Tensor]:
    """A stand-in 'UMAP' stored with the checkpoint: recognisable coordinates, one per digit."""
    count = len(load_embedded())
    angle = torch.linspace(0, 6.28, count)
    return {UMAP_KEY: torch.stack([100 + torch.cos(angle), torch.sin(angle)], dim=1)}


@pytest.fixture(scope="module")
def checkpoint_dir(tmp_path_factory, embedded: Dataset) -> Path:
    """Small real checkpoints, one epoch on 1,000 digits each, and the shipped ae_32 if any."""
    folder = tmp_path_factory.mktemp("checkpoints")
    train = embedded.subset(torch.arange(0, 5000, 5))
    small = {"hidden_sizes": (64,)}
    _train(folder, "tiny_plain", ModelConfig(latent_dim=6, **small), train)
    _train(folder, "tiny_map", ModelConfig(latent_dim=6, **small), train, _stored_map)
    _train(folder, "tiny_2d", ModelConfig(latent_dim=2, **small), train)
    _train(folder, "tiny_dae", ModelConfig(latent_dim=8, **small), train,
           noise_kind="gaussian", noise_level=0.5)
    _train(folder, "tiny_cvae", ModelConfig(family="cvae", latent_dim=4, **small), train)
    if SHIPPED_AE.is_file():
        shutil.copy(SHIPPED_AE, folder / "ae_32.safetensors")
    return folder


@pytest.fixture
def submitted(monkeypatch) -> list:
    """Background projections the pages ask for, recorded instead of run."""
    calls = []

    def record(self, request, codes):
        calls.append((request, tuple(codes.shape)))
        return None

    monkeypatch.setattr(ProjectionJobs, "submit", record)
    return calls


def open_page(page: str, folder: Path, monkeypatch, model: str | None = None) -> AppTest:
    """The app on `page` with `folder` as its checkpoints (and `model` active, if given)."""
    monkeypatch.setattr(state, "CHECKPOINT_DIR", folder)
    monkeypatch.setenv(projections.WARM_UP_ENV, "0")
    at = AppTest.from_file(APP, default_timeout=240)
    if model is not None:
        at.session_state[state.ACTIVE_MODEL] = f"shipped: {model}"
    at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def map_spec(at: AppTest) -> dict:
    return json.loads(at.get("plotly_chart")[0].proto.spec)


def x_title(spec: dict) -> str:
    return spec["layout"]["xaxis"]["title"]["text"]


def image_urls(at: AppTest) -> list[str]:
    return [url for image in at.get("image") for url in image.value]


def metric(at: AppTest, label: str) -> str:
    return next(item.value for item in at.metric if item.label == label)


# --- Latent map ------------------------------------------------------------------------------

def test_latent_map_shows_pca_at_once_and_asks_for_umap(checkpoint_dir, monkeypatch,
                                                        submitted):
    at = open_page("app_pages/latent_map.py", checkpoint_dir, monkeypatch, "tiny_plain")
    spec = map_spec(at)
    assert x_title(spec).startswith("PC1")
    assert [trace["name"] for trace in spec["data"]] == [str(digit) for digit in range(10)]
    assert sum(len(trace["customdata"]) for trace in spec["data"]) == 5000
    assert any("computing UMAP" in info.value for info in at.info)
    [(request, shape)] = submitted
    assert (request.method, request.n_neighbors, request.min_dist, request.source) == (
        "umap", 15, 0.1, "embedded")
    assert shape == (5000, 6)
    assert at.form[0] is not None and at.button(key="latent_map_clear").disabled
    assert len(at.get("download_button")) == 3


def test_umap_stored_in_the_checkpoint_shows_at_once(checkpoint_dir, monkeypatch, submitted):
    at = open_page("app_pages/latent_map.py", checkpoint_dir, monkeypatch, "tiny_map")
    spec = map_spec(at)
    assert x_title(spec) == "UMAP 1" and "UMAP" in spec["layout"]["title"]["text"]
    xs = [x for trace in spec["data"] for x in _numbers(trace["x"])]
    assert min(xs) > 98  # the stored coordinates, not a fresh projection
    assert not at.info and not submitted
    assert any("precomputed" in caption.value for caption in at.caption)


def _numbers(values) -> list[float]:
    """Plotly sends long arrays as base64 typed arrays."""
    if isinstance(values, dict):
        import base64

        return np.frombuffer(base64.b64decode(values["bdata"]), values["dtype"]).tolist()
    return list(values)


def test_form_switches_to_pca_and_colour_by_error(checkpoint_dir, monkeypatch, submitted):
    at = open_page("app_pages/latent_map.py", checkpoint_dir, monkeypatch, "tiny_map")
    at.radio(key="latent_map_method").set_value("pca")
    at.button(key="FormSubmitter:latent_map_form-Draw map").click().run()
    spec = map_spec(at)
    assert x_title(spec).startswith("PC1") and not at.info and not submitted
    at.segmented_control(key="latent_map_colour").set_value("error").run()
    spec = map_spec(at)
    assert len(spec["data"]) == 1 and spec["data"][0]["marker"]["colorscale"]
    assert spec["data"][0]["marker"]["colorbar"]["title"]["text"] == "MSE / pixel"


def test_a_two_dimensional_code_is_its_own_map(checkpoint_dir, monkeypatch, submitted):
    at = open_page("app_pages/latent_map.py", checkpoint_dir, monkeypatch, "tiny_2d")
    spec = map_spec(at)
    assert x_title(spec) == "z[0]" and not submitted and not at.info
    assert any("shown as it is" in caption.value for caption in at.caption)


def test_a_chosen_digit_shows_with_its_neighbours_and_goes_to_other_pages(
        checkpoint_dir, monkeypatch, submitted):
    at = open_page("app_pages/latent_map.py", checkpoint_dir, monkeypatch, "tiny_map")
    assert not at.get("image")
    at.number_input(key="latent_map_index").set_value(123).run()
    captions = [caption for image in at.get("image") for caption in image.captions]
    assert len(captions) == 2 and "#123" in captions[0] and captions[1].startswith("#123 and")
    assert spec_selected(map_spec(at)) == [123]  # ringed on the map
    first_images = image_urls(at)
    at.number_input(key="latent_map_index").set_value(4000).run()
    assert image_urls(at)[0] != first_images[0]
    at.button(key="latent_map_start").click().run()
    assert at.session_state[state.INTERPOLATION_ENDS] == [4000, None]
    at.button(key="latent_map_to_sliders").click().run()
    assert not at.exception and at.title[0].value == "Bottleneck sliders"
    # The sliders page takes SELECTED_DIGIT as a message: its picker now shows digit 4000.
    assert at.number_input(key="sliders_digit_index").value == 4000


def spec_selected(spec: dict) -> list[int]:
    ringed = [trace for trace in spec["data"] if trace["name"] == "selected"]
    return [int(row[0]) for row in ringed[0]["customdata"]] if ringed else []


def test_clear_selection_empties_the_panel(checkpoint_dir, monkeypatch, submitted):
    at = open_page("app_pages/latent_map.py", checkpoint_dir, monkeypatch, "tiny_map")
    at.number_input(key="latent_map_index").set_value(7).run()
    assert at.get("image")
    at.button(key="latent_map_clear").click().run()
    assert not at.get("image") and spec_selected(map_spec(at)) == []
    assert any("Nothing selected" in caption.value for caption in at.caption)


def test_the_mnist_test_set_can_be_mapped(checkpoint_dir, monkeypatch, submitted):
    if not projections.source_available("mnist-test"):
        pytest.skip("the MNIST test set is not on this machine (../shared/data/mnist)")
    at = open_page("app_pages/latent_map.py", checkpoint_dir, monkeypatch, "tiny_map")
    at.selectbox(key="latent_map_source").set_value("mnist-test")
    at.button(key="FormSubmitter:latent_map_form-Draw map").click().run()
    assert not at.exception
    spec = map_spec(at)
    assert sum(len(trace["customdata"]) for trace in spec["data"]) == 10_000
    assert submitted[-1][0].source == "mnist-test"  # nothing stored for it: computed
    at.number_input(key="latent_map_index").set_value(9999).run()
    assert not at.exception and at.get("image")
    assert not [button for button in at.button if button.key == "latent_map_to_sliders"]


@pytest.mark.slow
def test_umap_replaces_pca_when_it_is_ready(checkpoint_dir, monkeypatch):
    """The one test that waits for UMAP (its numba compile on a cold process included)."""
    at = open_page("app_pages/latent_map.py", checkpoint_dir, monkeypatch, "tiny_plain")
    at.slider(key="latent_map_neighbours").set_value(12)
    at.button(key="FormSubmitter:latent_map_form-Draw map").click().run()
    assert x_title(map_spec(at)).startswith("PC1") and at.info
    deadline = time.monotonic() + 400
    while x_title(map_spec(at)) != "UMAP 1":
        assert time.monotonic() < deadline, "UMAP did not arrive within 400 s"
        time.sleep(2)
        at.run()  # what the page's polling fragment does every second in a browser
    assert not at.info and not at.exception


# --- Denoising -------------------------------------------------------------------------------

def test_denoising_compares_models_side_by_side(checkpoint_dir, monkeypatch):
    at = open_page("app_pages/denoise.py", checkpoint_dir, monkeypatch, "tiny_plain")
    assert at.multiselect(key="denoise_models").value == ["shipped: tiny_plain",
                                                          "shipped: tiny_dae"]
    headers = [markdown.value for markdown in at.markdown if markdown.value.startswith("**")]
    assert headers[:4] == ["**Clean**", "**Gaussian noise 0.30**", "**tiny_plain**",
                           "**tiny_dae**"]
    assert len(at.get("image")) == 4
    table = at.dataframe[0].value
    assert len(table) == 6 + 1 and table["digit"].iloc[-1] == "average"
    assert {"tiny_plain PSNR", "tiny_plain SSIM", "tiny_dae PSNR", "tiny_dae SSIM"} <= set(
        table.columns)
    assert table["tiny_dae PSNR"].iloc[-1] == pytest.approx(table["tiny_dae PSNR"][:-1].mean())
    curve = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert [trace["name"] for trace in curve["data"]] == [
        "corrupted input (300 digits)", "tiny_plain", "tiny_dae"]


def test_changing_the_corruption_changes_the_rows(checkpoint_dir, monkeypatch):
    at = open_page("app_pages/denoise.py", checkpoint_dir, monkeypatch, "tiny_plain")
    before_images, before_table = image_urls(at), at.dataframe[0].value
    at.radio(key="denoise_kind").set_value("mask").run()
    assert image_urls(at)[0] == before_images[0]  # the same clean digits
    assert image_urls(at)[1] != before_images[1]  # corrupted differently
    after_table = at.dataframe[0].value
    assert not np.allclose(after_table["corrupted PSNR"], before_table["corrupted PSNR"])
    curve = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert curve["layout"]["xaxis"]["title"]["text"] == "Masked block level"
    at.slider(key="denoise_level_mask").set_value(0.5).run()
    harder = at.dataframe[0].value
    assert harder["corrupted PSNR"].iloc[-1] < after_table["corrupted PSNR"].iloc[-1]
    at.button(key="denoise_reroll").click().run()
    assert image_urls(at)[0] != before_images[0]  # other digits


def test_denoising_without_models_says_what_to_do(checkpoint_dir, monkeypatch):
    at = open_page("app_pages/denoise.py", checkpoint_dir, monkeypatch, "tiny_plain")
    at.multiselect(key="denoise_models").set_value([]).run()
    assert not at.exception and any("Pick at least one model" in i.value for i in at.info)
    assert not at.get("image")


# --- Anomaly detection -----------------------------------------------------------------------

needs_shipped = pytest.mark.skipif(not SHIPPED_AE.is_file(),
                                   reason="checkpoints/ae_32.safetensors is not shipped")


@needs_shipped
def test_noise_is_flagged_and_the_threshold_rule_matters(checkpoint_dir, monkeypatch):
    # A trained model: a one-epoch one rebuilds digits so badly that uniform noise (error
    # about 1/12 whatever the model outputs) can look *less* anomalous than a digit.
    at = open_page("app_pages/anomaly.py", checkpoint_dir, monkeypatch, "ae_32")
    at.radio(key="anomaly_kind").set_value("noise").run()
    assert float(metric(at, "ROC AUC")) > 0.99
    assert float(metric(at, "Detection rate").rstrip("%")) > 99
    quantile_cut = metric(at, "Threshold (MSE / pixel)")
    at.slider(key="anomaly_quantile").set_value(0.7).run()
    assert float(metric(at, "False-alarm rate").rstrip("%")) == pytest.approx(30, abs=1.5)
    at.radio(key="anomaly_rule").set_value("mean_std").run()
    assert metric(at, "Threshold (MSE / pixel)") != quantile_cut
    [gallery] = at.get("image")
    assert len(gallery.value) == 16
    assert all(caption.startswith("⚠ anomaly") for caption in gallery.captions)
    histogram, roc = at.get("plotly_chart")
    assert len(json.loads(histogram.proto.spec)["data"]) == 2


def test_a_held_out_class_offers_a_quick_model_that_becomes_active(checkpoint_dir,
                                                                   monkeypatch):
    at = open_page("app_pages/anomaly.py", checkpoint_dir, monkeypatch, "tiny_plain")
    assert at.selectbox(key="anomaly_class").value == 0
    assert any("saw 0s in training" in warning.value for warning in at.warning)
    auc_before = float(metric(at, "ROC AUC"))
    at.select_slider(key="anomaly_train_latent").set_value(8)
    at.slider(key="anomaly_train_epochs").set_value(1)
    at.button(key="FormSubmitter:anomaly_train-Train without 0s").click().run()
    assert not at.exception
    assert at.session_state[state.ACTIVE_MODEL] == "session: ae_8_no0"
    checkpoint = at.session_state[state.SESSION_MODELS]["session: ae_8_no0"]
    assert checkpoint.train_config.exclude_classes == (0,)
    assert not at.warning  # this model never saw a 0
    assert float(metric(at, "ROC AUC")) != auc_before


@needs_shipped
def test_fashion_images_are_anomalies_to_a_digit_model(checkpoint_dir, monkeypatch):
    if not projections.source_available("fashion-test"):
        pytest.skip("Fashion-MNIST is not in /usr/share/datasets/fashion-mnist")
    at = open_page("app_pages/anomaly.py", checkpoint_dir, monkeypatch, "ae_32")
    at.radio(key="anomaly_kind").set_value("fashion").run()
    assert not at.exception and float(metric(at, "ROC AUC")) > 0.8


def test_a_conditional_model_is_refused_with_a_reason(checkpoint_dir, monkeypatch):
    at = open_page("app_pages/anomaly.py", checkpoint_dir, monkeypatch, "tiny_cvae")
    assert any("conditional model" in warning.value for warning in at.warning)
    assert not at.metric


# --- Bottleneck effect ------------------------------------------------------------------------

def test_bottleneck_plots_every_model_beside_pca(checkpoint_dir, monkeypatch):
    at = open_page("app_pages/bottleneck.py", checkpoint_dir, monkeypatch, "tiny_plain")
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    names = [trace["name"] for trace in spec["data"]]
    assert names[0] == "PCA (same size)"
    assert {"ae", "ae denoising", "cvae (also given the label)"} <= set(names)
    pca = spec["data"][0]["y"]
    assert all(a > b for a, b in zip(pca, pca[1:], strict=False))  # more components, less error
    table = at.dataframe[0].value
    assert set(table["latent size"]) >= {2, 6, 8} and (table["MSE / pixel"] > 0).all()
    assert (table["vs PCA"] > 0).all()


def test_a_sweep_adds_its_curve_and_can_be_cleared(checkpoint_dir, monkeypatch):
    at = open_page("app_pages/bottleneck.py", checkpoint_dir, monkeypatch, "tiny_plain")
    rows_before = len(at.dataframe[0].value)
    at.multiselect(key="bottleneck_sizes").set_value([2, 4])
    at.slider(key="bottleneck_epochs").set_value(1)
    at.checkbox(key="bottleneck_linear").check()
    at.button(key="FormSubmitter:bottleneck_form-Train and score").click().run()
    assert not at.exception
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    sweep = next(trace for trace in spec["data"] if trace["name"].startswith("sweep:"))
    assert sweep["name"] == "sweep: ae linear, 1 epochs" and _numbers(sweep["x"]) == [2, 4]
    assert len(at.dataframe[0].value) == rows_before + 2
    at.button(key="bottleneck_clear").click().run()
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert not any(trace["name"].startswith("sweep:") for trace in spec["data"])


def test_an_empty_sweep_is_refused(checkpoint_dir, monkeypatch):
    at = open_page("app_pages/bottleneck.py", checkpoint_dir, monkeypatch, "tiny_plain")
    at.multiselect(key="bottleneck_sizes").set_value([])
    at.button(key="FormSubmitter:bottleneck_form-Train and score").click().run()
    assert not at.exception and at.error[0].value == "Pick at least one latent size."
