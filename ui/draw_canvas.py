"""A drawing canvas: a components-v2 element (JS in the page, no iframe) that draws under the
pointer in the browser and tells Python the drawing once per stroke, on release.

The JS lives in static/latent_lab/draw.mjs, served by the app (static serving), so the canvas
works offline. What Python hears is a PNG data URL of the 280x280 canvas (light strokes on a
transparent ground; "" after Clear), for ae_core.drawing.digit_from_canvas.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import streamlit as st

from ui.browser_decoder import static_url
from ui.state import PROJECT_ROOT

SCRIPT_FILE = PROJECT_ROOT / "static" / "latent_lab" / "draw.mjs"
SIDE = 280  # canvas pixels, ten per MNIST pixel
BRUSH = 24  # stroke width on the 280-pixel canvas: about 2.4 MNIST pixels once fitted

_JS = """
export default async function (component) {
    // This module runs from a blob: URL: resolve the app's path against the page's address.
    const script = new URL(component.data.script, window.location.href).href;
    (await import(script)).mount(component);
}
"""
_CSS = """
.ll-draw { display: flex; flex-direction: column; gap: 0.4rem; width: var(--ll-draw-side);
    font-family: var(--st-font); color: var(--st-text-color); }
.ll-draw-canvas { width: var(--ll-draw-side); height: var(--ll-draw-side); background: #000;
    border: 1px solid var(--st-border-color); border-radius: 6px; touch-action: none;
    cursor: crosshair; }
.ll-draw-bar { display: flex; align-items: center; gap: 0.8rem; }
.ll-draw-clear { font: inherit; font-size: 0.9rem; padding: 0.25rem 0.9rem; cursor: pointer;
    color: var(--st-text-color); background: var(--st-secondary-background-color);
    border: 1px solid var(--st-border-color); border-radius: 0.5rem; }
.ll-draw-clear:hover { border-color: var(--st-primary-color); color: var(--st-primary-color); }
.ll-draw-hint { font-size: 0.85rem; opacity: 0.7; }
"""

_canvas = st.components.v2.component("latent_lab_draw_canvas", js=_JS, css=_CSS,
                                     isolate_styles=False)


def _script_url() -> str:
    # The file's hash in the URL: an edited script is never served from the browser's cache.
    version = hashlib.sha256(SCRIPT_FILE.read_bytes()).hexdigest()[:12]
    return static_url(f"latent_lab/draw.mjs?v={version}")


def draw_canvas(key: str, on_change: Callable[[], None] | None = None,
                hint: str = "Draw one digit, large, in the middle") -> str | None:
    """The canvas; returns the last drawing's PNG data URL ("" once cleared, None before any).
    `hint` is the line above it (the page says it of the model's kind of images).

    Needs the app's static serving (server.enableStaticServing), as the browser decoder does.
    """
    result = _canvas(key=key, data={"script": _script_url(), "brush": BRUSH, "side": SIDE,
                                    "hint": hint},
                     on_drawing_change=on_change or (lambda: None))
    drawing = result.get("drawing") if result is not None else None
    return None if drawing is None else str(drawing.get("png") or "")
