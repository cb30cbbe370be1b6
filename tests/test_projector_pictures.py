"""Every page's main figure downloads at a projector's size: its Plotly charts carry the
1920x1080 "download as PNG" setting, and its main grid of images a PNG download made for a
projector's screen (ae_core.figures.lecture)."""

from __future__ import annotations

import io
import json

import pytest
import torch
from PIL import Image

from ae_core.checkpoint import save_checkpoint
from ae_core.config import ModelConfig, TrainConfig
from ae_core.figures.lecture import PROJECTOR_PNG, projector_grid_png
from ae_core.models import build_model
from ae_core.train import fit
from tests.pages import SHIPPED, open_page
from tests.test_draw_page import data_url, draw_page, stroke_png
from tests.test_train_page import small_run
from ui.attribute_panel import DISENTANGLEMENT_MODELS

# page, model, its main charts' keys, its projector downloads' keys
PAGES = [
    ("home.py", "vae_2", ["home_architecture", "home_elbo"], ["home_eps_png"]),
    ("latent_map.py", "ae_32", ["latent_map_chart"], ["latent_map_png"]),
    ("ae_vs_vae.py", "ae_32", ["ae_vs_vae_left_map", "ae_vs_vae_right_map"],
     ["ae_vs_vae_left_strip_png", "ae_vs_vae_right_strip_png"]),
    ("bottleneck.py", "ae_32", ["bottleneck_chart"], ["bottleneck_rebuilt_png"]),
    ("denoise.py", "ae_32", ["denoise_curve"], ["denoise_strips_png"]),
    ("anomaly.py", "ae_32", ["anomaly_histogram", "anomaly_roc"], ["anomaly_gallery_png"]),
    ("sliders.py", "vae_2", ["sliders_manifold"], ["sliders_traverse_png"]),
    ("interpolate.py", "ae_32", [], ["interpolate_png"]),
    ("samples.py", "vae_20", [], ["samples_png"]),
]


def keyed(elements, keys: list[str]) -> dict[str, object]:
    """The elements whose widget or chart id ends in one of `keys`, by key."""
    return {key: element.proto for element in elements for key in keys
            if element.proto.id.endswith(f"-{key}")}


def assert_every_chart_downloads_for_a_projector(at) -> None:
    """Every Plotly chart the page shows, main or side panel, downloads at 1920x1080."""
    for chart in at.get("plotly_chart"):
        options = json.loads(chart.proto.config).get("toImageButtonOptions")
        assert options == PROJECTOR_PNG["toImageButtonOptions"], chart.proto.id


@pytest.mark.parametrize(("page", "model", "charts", "downloads"), PAGES,
                         ids=[page for page, *_ in PAGES])
def test_each_pages_main_figures_download_for_a_projector(page, model, charts, downloads,
                                                          monkeypatch):
    at = open_page(f"app_pages/{page}", SHIPPED, monkeypatch, model)
    shown = keyed(at.get("plotly_chart"), charts)
    assert sorted(shown) == sorted(charts)
    for key, chart in shown.items():
        options = json.loads(chart.config)["toImageButtonOptions"]
        assert options == PROJECTOR_PNG["toImageButtonOptions"], key
    assert_every_chart_downloads_for_a_projector(at)
    offered = keyed(at.get("download_button"), downloads)
    assert sorted(offered) == sorted(downloads)
    # a PNG already made, or one made when clicked (the latent map's, drawn by matplotlib)
    assert all(button.url.endswith(".png") or button.deferred_file_id
               for button in offered.values())


@pytest.mark.parametrize(("count", "columns"), [(11, 11), (64, 8), (32, 2), (400, 40)])
def test_a_projector_grid_is_as_large_as_fits_the_screen(count, columns):
    images = torch.rand(count, 1, 28, 28)
    picture = Image.open(io.BytesIO(projector_grid_png(images, columns)))
    rows = -(-count // columns)
    one = (columns * 30 - 2, rows * 30 - 2)  # the grid at scale 1: 28 pixels and 2 of padding
    scale = picture.width // one[0]
    assert picture.size == (one[0] * scale, one[1] * scale)
    assert picture.width <= 1920 and picture.height <= 1080
    # one step larger would not fit
    assert one[0] * (scale + 1) > 1920 or one[1] * (scale + 1) > 1080


def test_the_train_pages_live_charts_download_for_a_projector(monkeypatch, tmp_path):
    at = open_page("app_pages/train.py", tmp_path, monkeypatch)
    small_run(at, epochs=1)
    charts = at.get("plotly_chart")  # the loss curves and the 2-D codes
    assert len(charts) == 2
    for chart in charts:
        options = json.loads(chart.proto.config)["toImageButtonOptions"]
        assert options == PROJECTOR_PNG["toImageButtonOptions"]


def test_the_draw_pages_map_downloads_for_a_projector(monkeypatch):
    at = draw_page(monkeypatch, ("canvas", data_url(stroke_png())))  # the map needs a drawing
    [chart] = keyed(at.get("plotly_chart"), ["draw_map"]).values()
    options = json.loads(chart.config)["toImageButtonOptions"]
    assert options == PROJECTOR_PNG["toImageButtonOptions"]


# page, model, the charts of its side panels (ui/zoo_panels.py, ui/attribute_panel.py)
SIDE_PANELS = [
    ("sliders.py", "vqvae", ["sliders_vq_usage", "sliders_vq_grid"]),
    ("sliders.py", "vae_20", ["sliders_kl_chart"]),
    ("latent_map.py", "ae_32", ["latent_map_custom_axes"]),
    ("ae_vs_vae.py", "ae_32", [f"ae_vs_vae_disentanglement_{name}"
                               for name in DISENTANGLEMENT_MODELS]),
]


@pytest.mark.parametrize(("page", "model", "charts"), SIDE_PANELS,
                         ids=[f"{page}-{model}" for page, model, _ in SIDE_PANELS])
def test_the_side_panels_charts_download_for_a_projector(page, model, charts, monkeypatch):
    at = open_page(f"app_pages/{page}", SHIPPED, monkeypatch, model)
    assert sorted(keyed(at.get("plotly_chart"), charts)) == sorted(charts)
    assert_every_chart_downloads_for_a_projector(at)


def test_the_sparsity_panels_charts_download_for_a_projector(monkeypatch, tmp_path, digits):
    torch.manual_seed(0)
    config = ModelConfig(family="sparse_ae", latent_dim=8, hidden_sizes=(32,))
    model = fit(build_model(config), digits, None, TrainConfig(epochs=1, batch_size=50)).model
    save_checkpoint(tmp_path / "sparse_ae.safetensors", model)
    at = open_page("app_pages/sliders.py", tmp_path, monkeypatch, "sparse_ae")
    charts = ["sliders_sparse_values", "sliders_sparse_inactive", "sliders_sparse_classes"]
    assert sorted(keyed(at.get("plotly_chart"), charts)) == sorted(charts)
    assert_every_chart_downloads_for_a_projector(at)
