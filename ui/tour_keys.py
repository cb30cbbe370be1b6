"""PageDown / PageUp step the tour, as a presentation clicker sends them: a components-v2
element (JS in the page, no iframe) with one document keydown listener.

Arrow keys are left alone: they move a focused slider. The listener is taken in the capture
phase, so a PageDown on a focused slider steps the tour and does not jump the slider.
"""

from __future__ import annotations

import streamlit as st

_JS = """
export default function ({ data, parentElement, setTriggerValue }) {
    let mark = parentElement.querySelector(".ll-tour-keys");
    if (!mark) {
        mark = document.createElement("span");
        mark.className = "ll-tour-keys";
        parentElement.appendChild(mark);
    }
    const moves = { PageDown: "next", PageUp: "previous" };
    const listener = event => {
        const move = moves[event.key];
        if (!move || event.altKey || event.ctrlKey || event.metaKey || event.shiftKey) return;
        event.preventDefault();
        event.stopPropagation();
        setTriggerValue("move", move);
    };
    // One listener per document: a rerun or a new page replaces the previous one.
    document.removeEventListener("keydown", window.latentLabTourKeys, true);
    window.latentLabTourKeys = listener;
    document.addEventListener("keydown", listener, true);
    mark.dataset.step = String(data.step);  // for tests: the step this listener steps from
    return () => document.removeEventListener("keydown", listener, true);
}
"""
# Nothing to see: the element takes no room in the tour bar.
_CSS = ".ll-tour-keys { display: none; } .st-key-classroom_keys { display: none; }"

_keys = st.components.v2.component("latent_lab_tour_keys", js=_JS, css=_CSS,
                                   isolate_styles=False)


def tour_keys(step: int) -> str | None:
    """Listen for PageDown / PageUp; returns "next" or "previous" in the run a key started."""
    result = _keys(key="classroom_keys", data={"step": step}, on_move_change=lambda: None)
    return result.get("move") if result is not None else None
