"""The Draw a digit page under AppTest on the shipped ae_32: a drawing (set as the canvas
would send it) gets its reconstruction, neighbours, score and guess, and travels to the
sliders and interpolation pages; a blank canvas or a bad upload gets one line."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from ui import state
from ui.widgets import DRAWING

APP = str(Path(__file__).resolve().parents[1] / "app.py")
SHIPPED = Path(__file__).resolve().parents[1] / "checkpoints"


def stroke_png() -> bytes:
    """A 280x280 canvas with a vertical white stroke on a transparent ground: a "1"."""
    rgba = np.zeros((280, 280, 4), dtype=np.uint8)
    rgba[50:230, 128:152] = 255
    buffer = io.BytesIO()
    Image.fromarray(rgba, mode="RGBA").save(buffer, format="PNG")
    return buffer.getvalue()


def data_url(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode()


def draw_page(monkeypatch, drawing: tuple[str, object] | None) -> AppTest:
    monkeypatch.setenv("LATENT_LAB_UMAP_WARMUP", "0")
    monkeypatch.setattr(state, "CHECKPOINT_DIR", SHIPPED)
    at = AppTest.from_file(APP, default_timeout=180)
    at.session_state["sliders_in_browser"] = False
    at.run()
    if drawing is not None:
        at.session_state["draw_input"] = drawing
    at.switch_page("app_pages/draw.py").run()
    assert not at.exception, at.exception
    return at


def test_a_drawn_one_is_rebuilt_placed_scored_and_guessed(monkeypatch):
    at = draw_page(monkeypatch, ("canvas", data_url(stroke_png())))
    metrics = {metric.label: metric.value for metric in at.metric}
    assert metrics["The linear probe's guess"] == "1"
    assert float(metrics["Anomaly score (MSE / pixel)"]) < 0.1
    captions = " | ".join(caption for image in at.get("image") for caption in image.captions)
    assert "The model's reconstruction" in captions and "Nearest first: #" in captions, captions
    assert len(at.get("plotly_chart")) == 1
    assert len(at.success) + len(at.warning) == 1  # the score against the threshold

    at.button(key="draw_to_sliders").click().run()
    assert not at.exception, at.exception
    assert at.session_state["sliders_digit_mode"] == "Your drawing"
    assert at.session_state["sliders_origin"][1].startswith("drawing-")


def test_the_drawing_starts_an_interpolation(monkeypatch):
    at = draw_page(monkeypatch, ("canvas", data_url(stroke_png())))
    at.button(key="draw_to_interpolation").click().run()
    assert not at.exception, at.exception
    assert at.session_state[state.INTERPOLATION_ENDS][0] == DRAWING
    assert at.session_state["interpolate_start_mode"] == "Your drawing"


@pytest.mark.parametrize(("drawing", "message"), [
    (None, "Draw a digit"),
    (("canvas", ""), "no drawing"),
    (("upload", b"not a picture at all"), "PNG or JPEG"),
])
def test_nothing_or_a_bad_file_gets_one_line(monkeypatch, drawing, message):
    at = draw_page(monkeypatch, drawing)
    shown = [element.value for element in [*at.info, *at.warning]]
    assert any(message in value and "\n" not in value for value in shown), shown
    assert not at.get("plotly_chart")


def test_an_uploaded_png_takes_the_same_path(monkeypatch):
    rgb = np.full((120, 90, 3), 240, dtype=np.uint8)  # dark ink on light paper
    rgb[15:105, 40:50] = 20
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="PNG")
    at = draw_page(monkeypatch, ("upload", buffer.getvalue()))
    metrics = {metric.label: metric.value for metric in at.metric}
    assert metrics["The linear probe's guess"] == "1"
