"""Samples with a mouse: a new seed draws a new grid, a typed seed too, the grid downloads as a
PNG. Chromium on `streamlit run` (fixtures in conftest.py)."""

from __future__ import annotations

import pytest

from tests.browser.conftest import (
    ARTIFACTS,
    IMAGE_CHANGED,
    open_with_model,
    wait_for_app,
)

pytestmark = pytest.mark.browser

GRID = "[data-testid='stImage'] img"
CAPTION = "Drawn from the prior"


def test_a_new_seed_draws_new_digits_and_the_grid_downloads(page, app_url):
    open_with_model(page, app_url, "shipped: vae_20", "Samples", "Samples")
    grid = page.locator(GRID)
    first = grid.get_attribute("src")

    page.get_by_role("button", name="New seed").click()
    page.wait_for_function(IMAGE_CHANGED, arg=[CAPTION, first], timeout=30_000)
    wait_for_app(page)
    seed = int(page.get_by_role("spinbutton", name="Seed").input_value())
    assert seed != 0 and f"Seed {seed}." in page.locator("[data-testid='stImage']").inner_text()

    second = grid.get_attribute("src")
    page.get_by_role("spinbutton", name="Seed").fill("5")
    page.get_by_role("spinbutton", name="Seed").press("Enter")
    page.wait_for_function(IMAGE_CHANGED, arg=[CAPTION, second], timeout=30_000)
    wait_for_app(page)
    assert "Seed 5." in page.locator("[data-testid='stImage']").inner_text()

    with page.expect_download() as png:
        page.get_by_role("button", name="Download the grid (PNG)").click()
    assert open(png.value.path(), "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    assert png.value.suggested_filename == "samples_vae_20_t1_seed5.png"
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "samples.png"))
