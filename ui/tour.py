"""Where "Start the tour" leads, in one place: a later guided tour replaces `start_tour`.

Today the tour is one step: the Bottleneck sliders page, with a line of what to try shown there
as a toast (app.py calls `show_tour_note` before each page runs).
"""

from __future__ import annotations

import streamlit as st

TOUR_START_PAGE = "app_pages/sliders.py"
TOUR_NOTE = ("Try this: drag one slider at a time and watch which stroke of the digit it "
             "moves; then pick another digit and compare.")
PENDING_NOTE = "tour_pending_note"  # session-state key: the note to show after the switch


def start_tour() -> None:
    """The home page's "Start the tour" button: go to the first stop with its note."""
    st.session_state[PENDING_NOTE] = TOUR_NOTE
    st.switch_page(TOUR_START_PAGE)


def show_tour_note() -> None:
    """Show (once) the note a tour step left for the page about to run."""
    note = st.session_state.pop(PENDING_NOTE, None)
    if note:
        st.toast(note, icon=":material/tour:", duration="long")
