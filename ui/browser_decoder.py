"""The active model's decoder running in the browser, so a digit follows the hand.

Two components-v2 elements (JS in the page, no iframe) share static/latent_lab/decoder.mjs:
- the *carrier* gets the decoder as ONNX (ae_core.export) in raw bytes, its only data. Streamlit
  sends a large element it already sent as a reference to the browser's cached copy, so the
  model crosses the wire once per model, not on every rerun;
- the *view* (sliders, a scrub along a path, or the 2-D code plane) decodes with onnxruntime-web
  (WebAssembly, served by the app from static/ort/) on every animation frame while the hand
  moves, and tells Python the final code once, on release.

When the runtime is not installed, static serving is off, the export fails or the browser
cannot start the runtime, `problem` says why in one line and the page decodes on the server.
"""

from __future__ import annotations

import functools
import hashlib
import json
import struct
from collections.abc import Callable

import streamlit as st

from ae_core.export import ExportError, decoder_onnx
from ae_core.models.base import Autoencoder
from ui import state
from ui.models import ActiveModel, model_cache

STATIC_DIR = state.PROJECT_ROOT / "static"
RUNTIME_FILE = STATIC_DIR / "ort" / "ort.wasm.bundle.min.mjs"  # scripts/browser_runtime.sh
SCRIPT_FILE = STATIC_DIR / "latent_lab" / "decoder.mjs"

_CARRIER_JS = """
export default async function ({ data }) {
    const bytes = data instanceof Uint8Array ? data : new Uint8Array(data);
    const length = new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0, true);
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(4, 4 + length)));
    // This module runs from a blob: URL: resolve the app's path against the page's address.
    (await import(new URL(header.script, window.location.href).href)).provide(bytes);
}
"""
_VIEW_JS = """
export default async function (component) {
    const script = new URL(component.data.script, window.location.href).href;
    await (await import(script)).mount(component);
}
"""
_VIEW_CSS = """
.ll-decoder { font-family: var(--st-font); color: var(--st-text-color); }
.ll-layout { display: flex; gap: 1.5rem; align-items: flex-start; flex-wrap: wrap; }
.ll-picture { display: flex; flex-direction: column; gap: 0.3rem; }
.ll-canvas, .ll-plane { width: 240px; height: 240px; image-rendering: pixelated;
    border: 1px solid var(--st-border-color); border-radius: 4px; touch-action: none; }
.ll-plane { cursor: crosshair; }
.ll-caption, .ll-note { font-size: 0.85rem; opacity: 0.7; max-width: 240px;
    overflow-wrap: anywhere; }
.ll-sliders { flex: 1; min-width: 260px; max-height: 420px; overflow-y: auto;
    display: grid; grid-template-columns: repeat(auto-fill, minmax(230px, 1fr)); gap: 0.2rem 1rem; }
.ll-slider { display: grid; grid-template-columns: 3.5rem 1fr 3rem; align-items: center;
    gap: 0.4rem; font-size: 0.85rem; }
.ll-slider input, .ll-scrub { width: 100%; accent-color: var(--st-primary-color); }
.ll-value { text-align: right; font-variant-numeric: tabular-nums; }
.ll-attributes { width: 280px; margin-top: 0.3rem; }
.ll-attribute { grid-template-columns: 4.5rem 1fr 4rem; }
/* A phone: the sliders come below the pictures, so the decoded one sticks under the app's
   header while the sliders scroll beneath it; the hand and the picture are both on screen. */
@media (max-width: 640px) {
    .ll-decoded { position: sticky; top: 3.75rem; z-index: 2; padding-bottom: 0.3rem;
        background: var(--st-background-color); }
}
"""

_carrier = st.components.v2.component("latent_lab_decoder_model", js=_CARRIER_JS)
_view = st.components.v2.component("latent_lab_decoder_view", js=_VIEW_JS, css=_VIEW_CSS,
                                   isolate_styles=False)


def static_url(relative: str) -> str:
    """Where the app serves static/<relative>, under any server.baseUrlPath."""
    base = str(st.get_option("server.baseUrlPath") or "").strip("/")
    return "/" + (f"{base}/" if base else "") + "app/static/" + relative


def _script_url() -> str:
    return static_url(f"latent_lab/decoder.mjs?v={_script_version(SCRIPT_FILE.stat().st_mtime)}")


@functools.cache
def _script_version(mtime: float) -> str:
    """The script's hash, in its URL so an edited script is never served from the browser's
    cache; read once per version of the file, not on every rerun of a slider's release."""
    return hashlib.sha256(SCRIPT_FILE.read_bytes()).hexdigest()[:12]


def model_id(model: ActiveModel) -> str:
    return hashlib.sha256(model.key.encode()).hexdigest()[:16]


@model_cache(show_spinner="Preparing the decoder for your browser…", max_entries=16)
def _payload(model_key: str, _net: Autoencoder, header_json: str) -> bytes | str:
    """[header length][header][ONNX] for one model, or the one-line reason it cannot be had."""
    try:
        onnx = decoder_onnx(_net)
    except ExportError as error:
        return str(error)
    header = header_json.encode()
    return struct.pack("<I", len(header)) + header + onnx


def _header(model: ActiveModel) -> str:
    net = model.checkpoint.model
    return json.dumps({"id": model_id(model), "latent_dim": net.latent_dim,
                       "conditional": net.is_conditional, "runtime": static_url("ort/"),
                       "script": _script_url()}, sort_keys=True)


def problem(model: ActiveModel) -> str | None:
    """Why this session's browser cannot decode `model` (one line), or None when it can."""
    failure = st.session_state.get(state.BROWSER_DECODER_FAILURE)
    if failure:
        return f"the browser could not run the decoder ({failure})"
    if not st.get_option("server.enableStaticServing"):
        return "the app's static file serving is off (server.enableStaticServing)"
    if not RUNTIME_FILE.is_file():
        return "its runtime is not installed (bash scripts/setup.sh installs it)"
    payload = _payload(model.key, model.checkpoint.model, _header(model))
    return payload if isinstance(payload, str) else None


def _record_failure(key: str) -> None:
    failure = st.session_state[key].get("failure")
    if failure:
        st.session_state[state.BROWSER_DECODER_FAILURE] = str(failure)[:200]


def send_decoder(model: ActiveModel) -> str | None:
    """Hand the browser `model`'s decoder, early in the page, so its runtime loads while the
    server draws the rest; returns None, or why the page must decode on the server instead.

    One key on every page: the element is the same wherever it appears, so the browser's cached
    copy is used and the bytes cross once per model.
    """
    reason = problem(model)
    if reason is None:
        payload = _payload(model.key, model.checkpoint.model, _header(model))
        _carrier(data=payload, key="browser_decoder_model", height=1)
    return reason


def live_view(model: ActiveModel, mode: str, key: str, data: dict,
              on_code: Callable[[list[float]], None] | None = None) -> None:
    """A live `mode` view of `data`, decoding with the decoder `send_decoder` handed over.

    `on_code` hears the final code on release.
    """

    def code_changed() -> None:
        code = st.session_state[key].get("code")
        if on_code is not None and code is not None:
            on_code([float(value) for value in code])

    _view(key=key, data={**data, "mode": mode, "model_id": model_id(model),
                         "script": _script_url()},
          on_code_change=code_changed, on_failure_change=lambda: _record_failure(key))


def retry_button(key: str) -> None:
    """After a failure in this browser: try the browser decoder again."""
    if st.session_state.get(state.BROWSER_DECODER_FAILURE):
        st.button("Try the browser decoder again", key=key, icon=":material/refresh:",
                  on_click=lambda: st.session_state.pop(state.BROWSER_DECODER_FAILURE, None))
