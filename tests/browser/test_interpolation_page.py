"""Interpolation with a mouse: switch the path, scrub along it (decoded in the browser),
download the strip and the morph. Chromium on `streamlit run` (fixtures in conftest.py)."""

from __future__ import annotations

import pytest
import torch

from tests.browser.conftest import (
    IMAGE_CHANGED,
    drag_across,
    live_view,
    open_page,
    wait_for_app,
)

pytestmark = pytest.mark.browser


def test_interpolation_switches_path_and_downloads(page, app_url):
    open_page(page, app_url, "Interpolation", "Interpolation")
    strips = page.locator("[data-testid='stImage'] img")
    latent, pixels = strips.nth(0).get_attribute("src"), strips.nth(1).get_attribute("src")
    page.get_by_text("Spherical (slerp)", exact=True).click()
    page.wait_for_function(IMAGE_CHANGED, arg=["the decoder's drawing", latent],
                           timeout=15_000)
    wait_for_app(page)
    assert page.get_by_role("heading", name="spherical (slerp) path").count() == 1
    assert page.request.get(strips.nth(1).get_attribute("src")).body() == \
        page.request.get(pixels).body()  # the cross-fade does not depend on the path
    with page.expect_download() as png:
        page.get_by_role("button", name="Download the strip (PNG)").click()
    assert open(png.value.path(), "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    with page.expect_download() as gif:
        page.get_by_role("button", name="Download the morph (animated GIF)").click()
    assert open(gif.value.path(), "rb").read(6) == b"GIF89a"
    assert gif.value.suggested_filename.endswith("_slerp.gif")


def test_scrubbing_the_path_decodes_each_point_as_the_hand_moves(page, app_url):
    open_page(page, app_url, "Interpolation", "Interpolation")
    view = live_view(page, "interpolate_live")
    scrub = view.locator("input.ll-scrub")
    scrub.scroll_into_view_if_needed()
    first_image = view.evaluate("root => root.lastImage")
    start = view.evaluate("root => root.frames")
    drag_across(page, scrub)
    held = view.evaluate("root => root.frames")
    page.mouse.up()
    assert held - start >= 10
    assert scrub.input_value() == "60"  # the far end: the "To" digit's code
    page.wait_for_function("root => root.frames > 0 && root.lastImage !== undefined",
                           arg=view.element_handle())
    last = torch.tensor(view.evaluate("root => root.lastImage"))
    assert float((last - torch.tensor(first_image)).abs().max()) > 0.3  # another digit
