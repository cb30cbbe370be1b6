"""AE vs VAE in a browser: both interpolation strips, both latent maps and both fractions of
confident midpoints. Chromium on `streamlit run` (fixtures in conftest.py)."""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import ARTIFACTS, open_page, wait_for_app

pytestmark = pytest.mark.browser

# The two models' maps and strips (the random codes and heat maps further down are others).
MAPS = ".st-key-ae_vs_vae_left_map .js-plotly-plot, .st-key-ae_vs_vae_right_map .js-plotly-plot"
STRIPS = "[data-testid='stImage']:has-text('Midpoint:')"
DRAWN = f"""() => document.querySelectorAll("{MAPS}").length === 2
    && [...document.querySelectorAll("[data-testid='stImage']")].filter(
        image => image.innerText.includes("Midpoint:") && image.querySelector("img")).length === 2
    && document.querySelectorAll("[data-testid='stMetricValue']").length === 2"""


def test_both_models_side_by_side(page, app_url):
    open_page(page, app_url, "AE vs VAE", "AE vs VAE")
    page.wait_for_function(DRAWN, timeout=60_000)
    wait_for_app(page)
    values = page.locator("[data-testid='stMetricValue']").all_inner_texts()
    assert all(re.fullmatch(r"\d{1,3}%", value.strip()) for value in values), values
    labels = page.locator("[data-testid='stMetricLabel']").all_inner_texts()
    assert [label.strip() for label in labels] == ["Confident midpoints · ae_2",
                                                   "Confident midpoints · vae_2"]
    captions = page.locator(STRIPS).all_inner_texts()
    assert captions[0].startswith("ae_2:") and captions[1].startswith("vae_2:")
    titles = page.evaluate(f"""() => [...document.querySelectorAll(
        "{MAPS}")].map(c => c._fullLayout.title.text)""")
    titles = [re.sub("<[^>]+>", "", title) for title in titles]
    assert [title.split(" · ")[0] for title in titles] == ["ae_2", "vae_2"], titles
    assert all(title.endswith("2-D code as it is") for title in titles), titles
    page.set_viewport_size({"width": 1400, "height": 1480})  # Streamlit scrolls inside: a
    wait_for_app(page)  # taller window shows the maps (docs/ae_vs_vae.png)
    page.wait_for_function(DRAWN)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "ae_vs_vae.png"))
