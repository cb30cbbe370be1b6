"""The sliders page's thickness, slant and width sliders (ui/attribute_panel.py) under AppTest:
a step moves the whole code along the model's direction, and the page shows what a +1 SD step
does, measured."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ae_core.attributes import EFFECTS_FILE, SLIDER_ATTRIBUTES, fit_directions, measure_dataset
from ae_core.checkpoint import load_checkpoint
from ae_core.latent import encode_dataset
from tests.pages import SHIPPED, open_page

needs_vae_20 = pytest.mark.skipif(not (SHIPPED / "vae_20.safetensors").is_file(),
                                  reason="vae_20 is not shipped")


def attribute_slider(at, name: str):
    return next(widget for widget in at.select_slider
                if widget.key.startswith(f"sliders_attribute_{name}_"))


@needs_vae_20
def test_a_thickness_step_moves_the_code_along_the_thickness_direction(monkeypatch, embedded):
    at = open_page("app_pages/sliders.py", SHIPPED, monkeypatch, "vae_20")
    assert [widget.label for widget in at.select_slider] == list(SLIDER_ATTRIBUTES)
    before = at.session_state["sliders_code"].clone()
    attribute_slider(at, "thickness").set_value(1.0).run()
    assert not at.exception
    moved = at.session_state["sliders_code"] - before
    model = load_checkpoint(SHIPPED / "vae_20.safetensors").model
    codes = encode_dataset(model, embedded.float_images(), embedded.labels).codes.numpy()
    direction = fit_directions(codes, measure_dataset(embedded))["thickness"]
    np.testing.assert_allclose(moved.numpy(), direction.direction * direction.code_sd,
                               atol=1e-4)
    # The dimension sliders follow the code.
    dims = [slider for slider in at.slider if slider.key.startswith("sliders_dim_")]
    for slider in dims:
        dimension = int(slider.key.rsplit("_", 1)[1])
        low, high = slider.min, slider.max
        expected = float(at.session_state["sliders_code"][dimension])
        assert slider.value == pytest.approx(min(max(expected, low), high), abs=1e-4)
    # Back to +0.5 SD: half the step is undone.
    attribute_slider(at, "thickness").set_value(0.5).run()
    half = (at.session_state["sliders_code"] - before).numpy()
    np.testing.assert_allclose(half, 0.5 * direction.direction * direction.code_sd, atol=1e-4)
    # Reset sets the code on purpose: the attribute sliders start again at 0.
    at.button(key="sliders_reset").click().run()
    assert attribute_slider(at, "thickness").value == 0.0
    assert torch.equal(at.session_state["sliders_code"], before)


@needs_vae_20
def test_the_page_shows_what_a_step_does_measured(monkeypatch):
    at = open_page("app_pages/sliders.py", SHIPPED, monkeypatch, "vae_20")
    table = next(frame.value for frame in at.dataframe if "slider" in frame.value.columns)
    assert list(table["slider"]) == list(SLIDER_ATTRIBUTES)
    caption = next(c.value for c in at.caption if "along the thickness direction" in c.value)
    assert "px (median)" in caption and "% of them" in caption
    if EFFECTS_FILE.is_file():  # stored for the shipped models: the page shows those numbers
        import json

        stored = next(entry for entry in json.loads(EFFECTS_FILE.read_text()).values()
                      if entry["checkpoint"] == "vae_20.safetensors")
        change = stored["effects"]["thickness"]["change"]
        assert f"{change:+.2f} px" in caption


def test_a_fashion_model_gets_no_stroke_sliders(monkeypatch):
    if not (SHIPPED / "fashion_vae_20.safetensors").is_file():
        pytest.skip("fashion_vae_20 is not shipped")
    at = open_page("app_pages/sliders.py", SHIPPED, monkeypatch, "fashion_vae_20")
    if not at.session_state["sliders_code"].numel():
        pytest.skip("no Fashion-MNIST images on this machine")
    assert len(at.select_slider) == 0 and not at.exception


def test_a_model_without_stored_effects_measures_them_on_request(checkpoint_dir, monkeypatch):
    at = open_page("app_pages/sliders.py", checkpoint_dir, monkeypatch, "tiny_plain")
    assert not [frame for frame in at.dataframe if "slider" in frame.value.columns]
    at.button(key="sliders_measure_effects").click().run()
    assert not at.exception
    table = next(frame.value for frame in at.dataframe if "slider" in frame.value.columns)
    assert list(table["slider"]) == list(SLIDER_ATTRIBUTES)
    assert all(value.endswith("%") for value in table["class kept (pixel probe)"])
