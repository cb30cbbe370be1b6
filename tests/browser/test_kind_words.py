"""A clothes model's pages speak of clothes: every page's visible text, with a Fashion-MNIST
model active, names no digit except where it names the digit datasets or digit models; and a
class box refreshes with the model (no stale "0" among clothes)."""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import choose_model, wait_for_app, wait_for_picker

pytestmark = [pytest.mark.browser, pytest.mark.slow]

FASHION = "shipped: fashion_vae_20"
PAGES = (("Home", "Latent Lab"), ("Train", "Train a model"),
         ("Bottleneck sliders", "Bottleneck sliders"), ("Interpolation", "Interpolation"),
         ("Draw a garment", "Draw a garment"), ("Samples", "Samples"),
         ("AE vs VAE", "AE vs VAE"), ("Few labels", "Few labels"),
         ("Latent map", "Latent map"), ("Denoising", "Denoising"),
         ("Anomaly detection", "Anomaly detection"), ("Bottleneck effect", "Bottleneck effect"))
# Where a page names digits on purpose: the digit datasets (an image set on offer, the
# out-of-distribution strangers) and the home page's line per shipped model.
NAMING_DIGIT_SETS = re.compile(r"MNIST digits|embedded digits|^[a-z0-9_]+: .*$", re.M)
VISIBLE_TEXT = """() => [...document.querySelectorAll(
    "[data-testid='stMain'], [data-testid='stSidebarNav']")].map(part => part.innerText)
    .join("\\n")"""
CLASS_BOX = ".st-key-sliders_digit_class [data-testid='stSelectbox'] input"


def digit_words(tab) -> list[str]:
    text = NAMING_DIGIT_SETS.sub("", tab.evaluate(VISIBLE_TEXT))
    return [line for line in text.splitlines() if re.search("digit", line, re.I)]


def test_every_page_of_a_fashion_model_speaks_of_clothes(page, app_url):
    page.set_default_timeout(120_000)
    page.goto(f"{app_url}/?model=fashion_vae_20")
    wait_for_app(page, 60_000)
    wait_for_picker(page, FASHION)
    found = {}
    for link, title in PAGES:
        page.locator("[data-testid='stSidebarNav']").get_by_text(link, exact=True).click()
        page.get_by_role("heading", name=title).wait_for(timeout=120_000)
        # A cold server computes a clothes model's judge, curves and maps here: minutes.
        wait_for_app(page, 600_000)
        found[title] = digit_words(page)
    assert found == {title: [] for _, title in PAGES}


def test_the_class_box_refreshes_with_the_models_kind(page, app_url):
    page.goto(f"{app_url}/sliders?model=ae_32")
    wait_for_app(page, 60_000, widgets=(CLASS_BOX,))
    assert page.locator(CLASS_BOX).input_value() == "0"
    choose_model(page, FASHION)  # the same session: the box was drawn for digits
    wait_for_app(page, 60_000, widgets=(CLASS_BOX,))
    page.wait_for_function(f"() => document.querySelector({CLASS_BOX!r})?.value "
                           f"=== 'T-shirt/top'", timeout=60_000)
