"""Draw a digit with a mouse: a vertical stroke is called a "1", an ellipse gets a guess too,
the drawing travels to the sliders, and an uploaded PNG takes the same path."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest
from PIL import Image

from tests.browser.conftest import (
    ARTIFACTS,
    PROJECT_ROOT,
    choose_model,
    go_to,
    wait_for_app,
)

pytestmark = pytest.mark.browser

GUESS = ("[data-testid='stMetric']:has-text(\"The linear probe's guess\") "
         "[data-testid='stMetricValue']")
# Python has been sent at least `count` drawings (strokes or clears) by this canvas.
SENT = "([key, count]) => (document.querySelector(`.st-key-${key} .ll-draw`)?.sent ?? 0) >= count"


def canvas(tab):
    element = tab.locator(".st-key-draw_canvas canvas.ll-draw-canvas")
    element.wait_for(timeout=60_000)
    element.scroll_into_view_if_needed()
    return element


def stroke(tab, points: list[tuple[float, float]]) -> None:
    """Press, move through `points` (fractions of the canvas), release: one stroke."""
    box = canvas(tab).bounding_box()
    at = [(box["x"] + x * box["width"], box["y"] + y * box["height"]) for x, y in points]
    tab.mouse.move(*at[0])
    tab.mouse.down()
    for x, y in at[1:]:
        tab.mouse.move(x, y, steps=2)
    tab.mouse.up()


def guess_after(tab, sent: int) -> str:
    """The probe's guess once Python has heard the `sent`-th drawing and redrawn the page."""
    tab.wait_for_function(SENT, arg=["draw_canvas", sent])
    wait_for_app(tab, 60_000)
    guess = tab.locator(GUESS)
    guess.wait_for(timeout=60_000)
    return guess.inner_text().strip()


def open_draw_page(tab, app_url: str) -> None:
    """The Draw page with the shipped default model, ae_32, picked in the sidebar."""
    tab.goto(app_url)
    wait_for_app(tab, 60_000)
    choose_model(tab, "shipped: ae_32")
    go_to(tab, "Draw a digit", "Draw a digit")


def test_draw_a_one_and_a_zero_then_send_the_one_to_the_sliders(page, app_url):
    open_draw_page(page, app_url)
    page.get_by_text("Draw a digit on the black square: what the model").wait_for()

    stroke(page, [(0.5, 0.15 + 0.7 * step / 20) for step in range(21)])  # a vertical "1"
    assert guess_after(page, 1) == "1"
    page.get_by_text("The model's reconstruction").wait_for()
    page.get_by_text("Nearest first: #").wait_for()
    page.locator(".st-key-draw_map .js-plotly-plot").wait_for()
    ARTIFACTS.mkdir(exist_ok=True)
    page.set_viewport_size({"width": 1400, "height": 1320})  # the map and neighbours too
    wait_for_app(page, 60_000)
    page.locator(".st-key-draw_map .js-plotly-plot").wait_for()
    page.screenshot(path=str(ARTIFACTS / "draw_a_digit.png"))
    page.screenshot(path=str(PROJECT_ROOT / "docs" / "draw_a_digit.png"))

    page.locator(".st-key-draw_canvas .ll-draw-clear").click()
    page.get_by_text("There is no drawing yet").wait_for()
    ellipse = [(0.5 + 0.22 * math.sin(2 * math.pi * step / 40),
                0.5 - 0.32 * math.cos(2 * math.pi * step / 40)) for step in range(42)]
    stroke(page, ellipse)  # a "0"
    zero = guess_after(page, 3)
    assert zero == "0", zero

    page.locator(".st-key-draw_canvas .ll-draw-clear").click()
    stroke(page, [(0.5, 0.15 + 0.7 * step / 20) for step in range(21)])
    assert guess_after(page, 5) == "1"
    page.get_by_role("button", name="Send to sliders").click()
    page.get_by_role("heading", name="Bottleneck sliders").wait_for(timeout=60_000)
    page.get_by_text("The digit you sent from the Draw page").wait_for(timeout=60_000)
    assert page.get_by_role("radio", name="Your drawing").is_checked()


def test_an_uploaded_png_is_read_like_a_drawing(page, app_url, tmp_path):
    paper = np.full((200, 150, 3), 235, dtype=np.uint8)  # a dark "1" on light paper
    paper[30:170, 68:82] = 30
    path = tmp_path / "one.png"
    Image.fromarray(paper).save(path)
    open_draw_page(page, app_url)
    page.locator(".st-key-draw_upload input[type='file']").set_input_files(str(path))
    page.locator(GUESS).wait_for(timeout=60_000)
    wait_for_app(page, 60_000)
    assert page.locator(GUESS).inner_text().strip() == "1"
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"\x89PNG not really" + io.BytesIO(b"x" * 100).getvalue())
    page.locator(".st-key-draw_upload input[type='file']").set_input_files(str(bad))
    page.get_by_text("damaged", exact=False).or_(page.get_by_text("PNG or JPEG")).first.wait_for(
        timeout=60_000)
