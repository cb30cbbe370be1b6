"""The overcomplete preset is really overcomplete, the copy test's measures on hand-made
models, what a briefly trained unregularised 1024-unit model does with noise, and the Train
page's noise panel."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from ae_core.config import INPUT_SIZE, ModelConfig, TrainConfig, resolve_preset
from ae_core.models import Autoencoder, build_model
from ae_core.overcomplete import correlation, noise_images, noise_test, passthrough
from ae_core.train import fit
from tests.pages import open_page


def test_the_preset_has_no_layer_narrower_than_the_image_before_the_code():
    """The old preset's 784-512-256 encoder squeezed every digit through 256 units first."""
    model_config, _ = resolve_preset("overcomplete", {}, {})
    encoder = build_model(model_config).encoder
    widths = [layer.out_features for layer in encoder if isinstance(layer, nn.Linear)]
    assert widths[-1] == model_config.latent_dim > INPUT_SIZE
    assert min(widths) >= INPUT_SIZE


class _Copy(Autoencoder):
    """Gives back exactly what it is given (the identity an overcomplete code could learn)."""

    def __init__(self) -> None:
        super().__init__(ModelConfig(family="ae", latent_dim=INPUT_SIZE))
        self.unused = nn.Parameter(torch.zeros(1))

    def encode(self, x, labels=None):
        return x.flatten(1)

    def decode_logits(self, z, labels=None):
        return torch.logit(z.double()).float().view(-1, 1, 28, 28)


class _Grey(_Copy):
    """Gives back the same mid-grey image whatever it is given."""

    def decode_logits(self, z, labels=None):
        return torch.zeros(len(z), 1, 28, 28)


def test_the_measures_on_a_copy_and_a_constant():
    noise = noise_images(50)
    assert 0 <= float(noise.min()) and float(noise.max()) < 1
    assert not torch.equal(noise, noise_images(50, seed=1))
    copied, grey = passthrough(_Copy(), noise), passthrough(_Grey(), noise)
    assert copied.correlation == pytest.approx(1.0, abs=1e-4)
    assert copied.mse == pytest.approx(0.0, abs=1e-8)
    assert grey.correlation == 0.0  # a constant says nothing about its input
    assert grey.mse == pytest.approx(1 / 12, rel=0.05)  # E[(U - 1/2)^2] for U uniform on [0, 1]
    flipped = correlation(noise, 1 - noise)
    torch.testing.assert_close(flipped, -torch.ones(50))


def test_the_noise_test_shows_noise_and_what_comes_back(digits):
    images = digits.float_images()[:20]
    test = noise_test(_Grey(), images, count=30, shown=3)
    assert test.shown.shape == (6, 1, 28, 28)
    torch.testing.assert_close(test.shown[:3], noise_images(3))
    assert (test.shown[3:] == 0.5).all()
    assert test.noise.correlation == 0.0 and test.digits.correlation == 0.0
    assert noise_test(_Copy(), images).digits.correlation == pytest.approx(1.0, abs=1e-4)


def test_briefly_trained_without_a_regulariser_it_learns_digits_not_the_identity(embedded):
    """docs/quality.md: within tens of epochs gradient descent learns the digits' main
    directions first; an unregularised 784 -> 1024 code gives digits back, not noise."""
    torch.manual_seed(0)
    config = ModelConfig(family="contractive_ae", latent_dim=1024, hidden_sizes=(),
                         contractive_weight=0.0)
    model = fit(build_model(config), embedded.subset(torch.arange(4000)), None,
                TrainConfig(epochs=2, batch_size=32, val_fraction=0.0, device="cpu")).model
    test = noise_test(model, embedded.float_images()[4000:])  # digits it did not train on
    assert test.digits.correlation > 0.8  # measured 0.90
    assert test.noise.correlation < 0.3  # measured 0.01


def test_the_train_page_shows_the_noise_test_for_an_overcomplete_model(monkeypatch, tmp_path):
    at = open_page("app_pages/train.py", tmp_path, monkeypatch)
    at.selectbox(key="train_family").set_value("overcomplete").run()
    assert at.text_input(key="train_hidden_sizes").value == ""
    assert at.number_input(key="train_latent_dim").value == 1024
    at.number_input(key="train_epochs").set_value(1)
    at.select_slider(key="train_batch_size").set_value(512)
    at.button(key="train_start").click().run()
    assert not at.exception, at.exception
    labels = [metric.label for metric in at.metric]
    assert labels == ["Noise in → out: correlation", "Digits in → out: correlation"]
    assert -1 <= float(at.metric[0].value) <= 1
    assert any("uniform noise" in image.captions[0] for image in at.get("image"))


def test_an_undercomplete_model_has_no_noise_panel(monkeypatch, tmp_path):
    at = open_page("app_pages/train.py", tmp_path, monkeypatch)
    at.number_input(key="train_latent_dim").set_value(2)
    at.text_input(key="train_hidden_sizes").set_value("32")
    at.number_input(key="train_epochs").set_value(1)
    at.select_slider(key="train_batch_size").set_value(512)
    at.button(key="train_start").click().run()
    assert not at.exception, at.exception
    assert not at.metric
