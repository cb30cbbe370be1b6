"""The Samples page under AppTest on the shipped checkpoints: seed, temperature, class rows,
the note for a model without a prior, the PNG download."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.pages import SHIPPED, open_page


@pytest.fixture
def open_samples(monkeypatch):
    """The Samples page on a shipped model, drawn without an error."""

    def open_on(model: str) -> AppTest:
        at = open_page("app_pages/samples.py", SHIPPED, monkeypatch, model)
        assert not at.error, [error.value for error in at.error]
        return at

    return open_on


def grid_url(at: AppTest) -> str:
    (image,) = at.get("image")
    return image.value[0]


def test_the_seed_and_the_temperature_change_the_grid(open_samples):
    at = open_samples("vae_2")
    assert [b.proto.label for b in at.get("download_button")] == ["Download the grid (PNG)"]
    assert not at.info  # a VAE has a prior: no note
    first = grid_url(at)
    at.number_input(key="samples_seed").set_value(7).run()
    seven = grid_url(at)
    assert seven != first
    at.number_input(key="samples_seed").set_value(0).run()
    assert grid_url(at) == first  # the same seed, the same digits
    at.slider(key="samples_temperature").set_value(0.0).run()
    assert grid_url(at) != first
    before = at.number_input(key="samples_seed").value
    at.button(key="samples_new_seed").click().run()
    assert at.number_input(key="samples_seed").value != before


def test_a_model_without_a_prior_says_why(open_samples):
    at = open_samples("ae_32")
    assert len(at.info) == 1 and "has no prior" in at.info[0].value
    assert len(at.get("image")) == 1


def test_a_conditional_model_draws_a_class_or_a_row_per_class(open_samples):
    at = open_samples("cvae_2")
    every = grid_url(at)
    assert at.slider(key="samples_per_class").value == 8
    at.selectbox(key="samples_class").set_value(3).run()
    assert not at.exception and grid_url(at) != every
    assert at.slider(key="samples_count").value == 36


def grid_caption(at: AppTest) -> str:
    (image,) = at.get("image")
    return image.proto.imgs[0].caption


def test_every_shipped_family_draws(open_samples):
    at = open_samples("vqvae")
    # The shipped VQ-VAE carries its learned prior over the code grid, and the page says so.
    assert "learned over the 7x7 code grid" in grid_caption(at)
    first = grid_url(at)
    at.slider(key="samples_temperature").set_value(0.5).run()
    assert not at.exception and not at.error
    assert grid_url(at) != first and "temperature 0.5" in grid_caption(at)
