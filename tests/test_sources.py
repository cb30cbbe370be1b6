"""ui/sources.py: which images each kind of model is offered first, and its strangers."""

from __future__ import annotations

from types import SimpleNamespace

from ae_core.config import TrainConfig
from ui import sources
from ui.models import ActiveModel


def model_of(dataset: str) -> ActiveModel:
    return ActiveModel("shipped: m", "m@1", SimpleNamespace(
        train_config=TrainConfig(dataset=dataset), info={}))


def test_a_model_is_offered_its_own_kind_of_images_first(monkeypatch):
    monkeypatch.setattr(sources, "source_available", lambda source: True)
    offered = ("embedded", "mnist-test", "fashion-test", "fashion-all")
    assert sources.home_first(model_of("fashion-mnist"), offered)[0] == "fashion-test"
    assert sources.home_first(model_of("mnist-embedded"), offered) == list(offered)
    assert sources.normal_sources(model_of("fashion-mnist")) == ["fashion-test"]
    assert sources.normal_sources(model_of("mnist")) == ["heldout", "mnist-test"]


def test_the_other_dataset_is_out_of_distribution():
    assert sources.other_test_source(model_of("fashion-mnist")) == "mnist-test"
    assert sources.other_test_source(model_of("mnist-embedded")) == "fashion-test"


def test_every_page_shows_a_model_its_own_images_or_the_digits_where_they_are_absent(
        monkeypatch):
    monkeypatch.setattr(sources, "source_available", lambda source: True)
    assert sources.own_source(model_of("fashion-mnist")) == "fashion-test"
    assert sources.own_source(model_of("mnist-embedded")) == "embedded"
    assert sources.own_source(model_of("mnist")) == "embedded"
    monkeypatch.setattr(sources, "source_available", lambda source: source == "embedded")
    assert sources.own_source(model_of("fashion-mnist")) == "embedded"
