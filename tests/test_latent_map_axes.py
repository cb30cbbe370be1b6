"""The latent map's custom axes (ui/attribute_panel.py) under AppTest on the shipped vae_20:
attribute and class-to-class directions as x and y, measured values on hover."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ae_core.attributes import class_means, fit_directions, measure_dataset
from ae_core.checkpoint import load_checkpoint
from ae_core.data import load_embedded
from ae_core.latent import encode_dataset
from tests.pages import SHIPPED, numbers, open_page

pytestmark = pytest.mark.skipif(not (SHIPPED / "vae_20.safetensors").is_file(),
                                reason="vae_20 is not shipped")


def custom_map(at) -> dict:
    return next(spec for spec in (json.loads(chart.proto.spec)
                                  for chart in at.get("plotly_chart"))
                if "custom axes" in spec["layout"]["title"]["text"])


def points(spec: dict) -> dict[int, tuple[float, float]]:
    """Image number -> (x, y), over every class's trace."""
    found = {}
    for trace in spec["data"]:
        xs, ys = numbers(trace["x"]), numbers(trace["y"])
        custom = trace["customdata"]
        if isinstance(custom, dict):  # plotly's typed array: flat numbers and a shape
            shape = [int(size) for size in str(custom["shape"]).split(",")]
            custom = np.array(numbers(custom)).reshape(shape)
        for row, x, y in zip(custom, xs, ys, strict=True):
            found[int(row[0])] = (x, y)
    return found


def test_attribute_and_class_axes(monkeypatch):
    at = open_page("app_pages/latent_map.py", SHIPPED, monkeypatch, "vae_20")
    spec = custom_map(at)
    assert spec["layout"]["xaxis"]["title"]["text"].startswith("thickness direction (SD)")
    assert spec["layout"]["yaxis"]["title"]["text"].startswith("slant direction (SD)")
    assert "thickness %{customdata[3]:.2f} px" in spec["data"][0]["hovertemplate"]
    digits = load_embedded()
    values = measure_dataset(digits)
    model = load_checkpoint(SHIPPED / "vae_20.safetensors").model.eval()
    codes = encode_dataset(model, digits.float_images(), digits.labels).codes.numpy()
    drawn = points(spec)
    assert len(drawn) == 5000
    # Thicker digits sit further right: the x position follows the measured thickness.
    xs = np.array([drawn[i][0] for i in range(5000)])
    assert np.corrcoef(xs, values[:, 2])[0, 1] > 0.6
    direction = fit_directions(codes, values)["thickness"]
    expected = codes @ direction.direction
    np.testing.assert_allclose(xs, (expected - expected.mean()) / direction.code_sd, atol=1e-3)
    # A class-to-class axis: 0 at the mean code of 3s, 1 at the mean code of 8s.
    at.selectbox(key="latent_map_axis_x").set_value("class to class").run()
    assert not at.exception
    spec = custom_map(at)
    assert spec["layout"]["xaxis"]["title"]["text"].startswith("3 → 8")
    drawn = points(spec)
    xs = np.array([drawn[i][0] for i in range(5000)])
    labels = digits.labels.numpy()
    assert xs[labels == 3].mean() == pytest.approx(0.0, abs=1e-3)
    assert xs[labels == 8].mean() == pytest.approx(1.0, abs=1e-3)
    means = class_means(codes, labels)
    assert np.linalg.norm(means[8] - means[3]) > 0
