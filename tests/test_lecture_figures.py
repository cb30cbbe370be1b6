"""The lecture's pictures from a model itself: its shape, a VAE's ELBO split for one image and
the reparameterisation trick; and Home showing them."""

from __future__ import annotations

import pytest
import torch

from ae_core.figures.lecture import (
    architecture_figure,
    elbo_split,
    layer_widths,
    reparameterised_decodes,
)
from ae_core.models import REGISTRY
from ae_core.models.base import ForwardOutput
from tests.conftest import family_config
from tests.pages import open_page


def tiny(family: str):
    torch.manual_seed(0)
    return REGISTRY[family](family_config(family, latent_dim=3, hidden_sizes=(20, 10))).eval()


def test_the_diagram_has_the_models_own_sizes():
    model = tiny("vae")
    assert layer_widths(model) == [784, 20, 10, 3]
    figure = architecture_figure(layer_widths(model))
    texts = [annotation.text for annotation in figure.layout.annotations]
    # image, two layers, the code, two layers, the rebuilt image; encoder and decoder named.
    assert [text.split("<b>")[-1].removesuffix("</b>") for text in texts[:7]] == [
        "784", "20", "10", "3", "10", "20", "784"]
    assert "<b>encoder</b>" in texts and "<b>decoder</b>" in texts


def test_the_elbo_split_is_the_models_own_loss_through_the_mean(digits):
    model = tiny("vae")
    image = digits.float_images()[:1]
    split = elbo_split(model, image)
    with torch.inference_mode():
        posterior = model.posterior(image)
        out = ForwardOutput(logits=model.decode_logits(posterior.mean), code=posterior.mean,
                            posterior=posterior)
        terms = model.loss(image, out)
    assert split.recon_loss == float(terms["recon_loss"])
    assert split.kl_loss == float(terms["kl_loss"]) > 0
    assert split.neg_elbo == pytest.approx(float(terms["neg_elbo"]), rel=1e-6)


def test_reparameterised_decodes_are_mu_plus_sigma_eps(digits):
    model = tiny("vae")
    split = elbo_split(model, digits.float_images()[:1])
    eps, images = reparameterised_decodes(model, split, 4, seed=3)
    assert eps.shape == (4, 3) and images.shape == (4, 1, 28, 28)
    with torch.inference_mode():
        torch.testing.assert_close(images, model.decode(split.mean + split.std * eps))
    again, _ = reparameterised_decodes(model, split, 4, seed=3)
    other, other_images = reparameterised_decodes(model, split, 4, seed=4)
    torch.testing.assert_close(eps, again)  # a seed gives the same draws
    assert not torch.equal(eps, other) and not torch.equal(images, other_images)


def test_home_draws_the_shape_and_for_a_vae_its_loss_and_the_trick(checkpoint_dir,
                                                                   monkeypatch):
    at = open_page("app_pages/home.py", checkpoint_dir, monkeypatch, "tiny_plain")
    assert "Encoder, code, decoder" in [header.value for header in at.subheader]
    assert "The reparameterisation trick" not in [header.value for header in at.subheader]
    at = open_page("app_pages/home.py", checkpoint_dir, monkeypatch, "tiny_cvae")
    headers = [header.value for header in at.subheader]
    assert "The reparameterisation trick" in headers
    caption = next(caption.value for caption in at.caption if "−ELBO = " in caption.value)
    assert "nats for this image" in caption
    trick = next(image for image in at.get("image")
                 if "decodes of μ + σ·ε" in image.proto.imgs[0].caption)
    before = trick.proto.imgs[0].caption
    at.button(key="home_eps_again").click().run()
    assert not at.exception, at.exception
    after = next(image for image in at.get("image")
                 if "decodes of μ + σ·ε" in image.proto.imgs[0].caption).proto.imgs[0].caption
    assert after != before  # new draws of ε
