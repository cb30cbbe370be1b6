"""Every page shows a Fashion-MNIST model clothes (ui.sources.own_source), never digits."""

from __future__ import annotations

from ae_core.data import FASHION_CLASSES
from tests.pages import open_page
from ui.sources import SOURCES

MODEL = "tiny_fashion"
SOURCE_LABEL = SOURCES["fashion-test"]


def texts(at, element: str) -> str:
    return "\n".join(str(item.value) for item in at.get(element))


def test_the_sliders_start_from_clothes(fashion_checkpoints, monkeypatch):
    at = open_page("app_pages/sliders.py", fashion_checkpoints, monkeypatch, MODEL)
    assert at.selectbox(key="sliders_digit_class").options == list(FASHION_CLASSES)
    assert SOURCE_LABEL in texts(at, "caption")


def test_interpolation_walks_between_clothes(fashion_checkpoints, monkeypatch):
    at = open_page("app_pages/interpolate.py", fashion_checkpoints, monkeypatch, MODEL)
    assert at.selectbox(key="interpolate_start_class").options == list(FASHION_CLASSES)
    assert at.selectbox(key="interpolate_start_class").value == 1  # Trouser
    assert SOURCE_LABEL in texts(at, "caption")


def test_a_link_index_names_an_image_of_the_fashion_test_set(fashion_checkpoints, monkeypatch):
    at = open_page("app_pages/sliders.py", fashion_checkpoints, monkeypatch, MODEL)
    at.radio(key="sliders_digit_mode").set_value("By index").run()
    at.number_input(key="sliders_digit_index").set_value(9999).run()  # the embedded set has 5,000
    assert not at.exception, at.exception
    assert at.number_input(key="sliders_digit_index").value == 9999


def test_samples_say_they_are_clothes(fashion_checkpoints, monkeypatch):
    at = open_page("app_pages/samples.py", fashion_checkpoints, monkeypatch, MODEL)
    assert "learned from clothes" in texts(at, "caption")


def test_home_shows_clothes_and_their_reconstructions(fashion_checkpoints, monkeypatch):
    at = open_page("app_pages/home.py", fashion_checkpoints, monkeypatch, MODEL)
    assert at.subheader[0].value == "Clothes and their reconstructions"
