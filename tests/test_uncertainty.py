"""A VAE's uncertainty (ae_core.uncertainty, ui/uncertainty_panel.py): the encoder's mean and
spread, resampled codes, and on the sliders page the ellipses and the Resample button."""

from __future__ import annotations

import json

import pytest
import torch

from ae_core.checkpoint import load_checkpoint
from ae_core.latent import encode_dataset
from ae_core.uncertainty import posterior_spread, resample
from tests.pages import SHIPPED, needs_shipped, open_page

needs_pair = needs_shipped("ae_2", "vae_2")


@needs_pair
def test_the_spread_and_its_draws(embedded):
    model = load_checkpoint(SHIPPED / "vae_2.safetensors").model.eval()
    image = embedded.float_images()[7]
    mean, std = posterior_spread(model, image)
    code = encode_dataset(model, image.unsqueeze(0), embedded.labels[7:8]).codes[0]
    torch.testing.assert_close(mean, code)  # the mean is the code every page shows
    assert bool((std > 0).all()) and bool((std < 1.5).all())
    codes, images = resample(model, mean, std, 4000, seed=3)
    torch.testing.assert_close(codes.mean(dim=0), mean, atol=0.1 * float(std.max()), rtol=0)
    torch.testing.assert_close(codes.std(dim=0), std, rtol=0.1, atol=0)
    assert images.shape == (4000, 1, 28, 28)
    first, _ = resample(model, mean, std, 5, seed=3)
    torch.testing.assert_close(resample(model, mean, std, 5, seed=3)[0], first)  # seeded
    assert not torch.equal(resample(model, mean, std, 5, seed=4)[0], first)
    with pytest.raises(ValueError, match="not variational"):
        posterior_spread(load_checkpoint(SHIPPED / "ae_2.safetensors").model, image)


@needs_pair
def test_the_sliders_page_draws_the_spread_and_resamples(monkeypatch, embedded):
    at = open_page("app_pages/sliders.py", SHIPPED, monkeypatch, "vae_2")
    assert not at.exception
    manifold = next(spec for spec in (json.loads(chart.proto.spec)
                                      for chart in at.get("plotly_chart"))
                    if spec["layout"]["xaxis"]["title"]["text"] == "z[0]")
    circles = [shape for shape in manifold["layout"]["shapes"] if shape["type"] == "circle"]
    assert len(circles) == 2
    model = load_checkpoint(SHIPPED / "vae_2.safetensors").model.eval()
    mean, std = posterior_spread(model, embedded.float_images()[int(
        torch.nonzero(embedded.labels == 0)[0, 0])])
    inner = circles[0]
    assert (inner["x0"] + inner["x1"]) / 2 == pytest.approx(float(mean[0]), abs=1e-4)
    assert (inner["x1"] - inner["x0"]) / 2 == pytest.approx(float(std[0]), abs=1e-4)
    assert (circles[1]["y1"] - circles[1]["y0"]) / 2 == pytest.approx(2 * float(std[1]),
                                                                        abs=1e-4)

    def resampled() -> str:
        return next(image.value[0] for image in at.get("image")
                    if image.captions[0].startswith("The digit, then 8 decodes"))

    before = resampled()
    at.button(key="sliders_resample").click().run()
    assert not at.exception and resampled() != before


@needs_pair
def test_a_plain_autoencoder_has_no_spread(monkeypatch):
    at = open_page("app_pages/sliders.py", SHIPPED, monkeypatch, "ae_2")
    assert not at.exception
    assert not [button for button in at.button if button.key == "sliders_resample"]


@needs_pair
def test_the_2d_map_draws_the_selected_digits_spread(monkeypatch, embedded):
    at = open_page("app_pages/latent_map.py", SHIPPED, monkeypatch, "vae_2")
    assert not json.loads(at.get("plotly_chart")[0].proto.spec)["layout"].get("shapes")
    at.number_input(key="latent_map_index").set_value(12).run()
    assert not at.exception
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    circles = [shape for shape in spec["layout"]["shapes"] if shape["type"] == "circle"]
    model = load_checkpoint(SHIPPED / "vae_2.safetensors").model.eval()
    mean, std = posterior_spread(model, embedded.float_images()[12])
    assert len(circles) == 2
    assert (circles[0]["y0"] + circles[0]["y1"]) / 2 == pytest.approx(float(mean[1]), abs=1e-4)
    assert (circles[0]["x1"] - circles[0]["x0"]) / 2 == pytest.approx(float(std[0]), abs=1e-4)
