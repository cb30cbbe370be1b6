"""Few labels (tutorial 000): an encoder pretrained without labels, fine-tuned on a handful,
against the same network from a fresh start; the library and its page."""

from __future__ import annotations

import pytest

from ae_core.checkpoint import load_checkpoint
from ae_core.data import train_val_split
from ae_core.semisupervised import few_labels, labelled_subset
from tests.pages import SHIPPED, open_page


def test_the_labelled_digits_are_per_class_and_seeded(embedded):
    train, _ = train_val_split(embedded, 0.1, 0)
    picked = labelled_subset(train, 3, seed=4)
    assert len(picked) == 30 and sorted(picked.labels.bincount().tolist()) == [3] * 10
    assert picked.labels.tolist() == labelled_subset(train, 3, seed=4).labels.tolist()


@pytest.mark.slow
def test_pretraining_without_labels_helps_when_labels_are_few(embedded):
    train, test = train_val_split(embedded, 0.1, 0)
    result = few_labels(load_checkpoint(SHIPPED / "vae_20.safetensors").model, train, test)
    assert result.labelled == 100
    # Measured: 78.4 % fine-tuned against 68.8 % from a fresh start (ae_32: 78.0 against 73.6).
    assert result.pretrained_accuracy > result.scratch_accuracy + 0.03


def test_a_conditional_model_is_refused_in_one_line(embedded):
    train, test = train_val_split(embedded, 0.1, 0)
    with pytest.raises(ValueError, match="reads the label to encode a digit"):
        few_labels(load_checkpoint(SHIPPED / "cvae_2.safetensors").model, train, test)


def test_the_page_compares_both_after_a_click(monkeypatch):
    at = open_page("app_pages/few_labels.py", SHIPPED, monkeypatch, "ae_2")
    assert not at.metric
    at.slider(key="few_labels_per_class").set_value(2)
    at.button(key="FormSubmitter:few_labels_form-Train and compare").click().run()
    assert not at.exception
    labels = [metric.label for metric in at.metric]
    assert labels == ["Pretrained encoder, fine-tuned", "The same network from a fresh start"]
    assert all(metric.value.endswith("%") for metric in at.metric)
    assert "20 labelled digits (2 per class)" in at.caption[0].value
