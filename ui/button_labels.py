"""Button labels that wrap onto another line rather than end in "…": Streamlit cuts a label
wider than its column ("Reset to the gar…" beside the sliders at 1400 px). app.py applies it
to every page, in both modes."""

from __future__ import annotations

import streamlit as st

# A button's label is a markdown container (Streamlit's stMarkdownEllipsis: one line, clipped).
WRAP_CSS = """<style>
[data-testid="stMain"] button [data-testid="stMarkdownContainer"],
[data-testid="stMain"] button [data-testid="stMarkdownContainer"] p {
    white-space: normal; overflow: visible; text-overflow: clip; }
</style>"""


def wrap_button_labels() -> None:
    """Every button label in the main area wraps, whole (drawn once per run, by app.py)."""
    st.html(WRAP_CSS)
