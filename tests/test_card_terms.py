"""The model card's terms explained under it, and why a conditional VAE's probe is low."""

from __future__ import annotations

from tests.pages import open_page
from ui.card_terms import CONDITIONAL_PROBE, TERMS
from ui.sidebar import CARD_METRICS


def card_fold(at) -> str:
    (fold,) = [expander for expander in at.sidebar.expander
               if expander.label == "What do these mean?"]
    return " ".join(markdown.value for markdown in fold.markdown)


def test_every_term_the_card_can_show_has_a_sentence():
    assert set(CARD_METRICS) <= set(TERMS)


def test_the_card_explains_its_terms_and_a_conditional_models_low_probe(checkpoint_dir,
                                                                        monkeypatch):
    at = open_page("app_pages/home.py", checkpoint_dir, monkeypatch, "tiny_plain")
    text = card_fold(at)
    assert "**Latent size**" in text and "**Compression**" in text
    assert "**Recon. loss**" in text
    assert CONDITIONAL_PROBE not in text  # a plain autoencoder is not told the class
    at = open_page("app_pages/home.py", checkpoint_dir, monkeypatch, "tiny_cvae")
    text = card_fold(at)
    assert CONDITIONAL_PROBE in text
