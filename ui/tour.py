"""A guided tour in this session: which tour, which step, and going to a step (its page, with
its query parameters and its model). The home page's "Start the tour" starts the shipped one.

The format and its validation are in ui/tour_format.py; the bar that shows a step and its
buttons is in ui/classroom.py.
"""

from __future__ import annotations

import streamlit as st

from ui import state
from ui.models import SAVED_PREFIX, SHIPPED_PREFIX, model_labels
from ui.tour_format import Step, Tour, read_step, read_tour

TOURS_DIR = state.PROJECT_ROOT / "tours"
SHIPPED_TOUR = TOURS_DIR / "tutorial_story.json"
PAGES_DIR = state.PROJECT_ROOT / "app_pages"
PRESENT_PARAM = "present"  # ?present=1: classroom mode


def app_pages() -> list[str]:
    """Every page file a step may name, as app.py names them ("app_pages/sliders.py")."""
    return sorted(f"{PAGES_DIR.name}/{path.name}" for path in PAGES_DIR.glob("*.py"))


def page_file(url_path: str) -> str | None:
    """The file of the page at `url_path` ("" is the home page); None if it is no page file.

    app.py names no url_path, so Streamlit takes each page's from its file name."""
    name = f"{PAGES_DIR.name}/{url_path or 'home'}.py"
    return name if name in app_pages() else None


@st.cache_data(show_spinner=False)
def _read_shipped(text: str) -> Tour:
    return read_tour(text, app_pages())


def shipped_tour() -> Tour:
    """The tour in the repository: the tutorials' story, step by step."""
    return _read_shipped(SHIPPED_TOUR.read_text())


def current() -> tuple[Tour, int] | None:
    """The session's tour and the index of its step on show, or None when no tour runs."""
    tour = st.session_state.get(state.TOUR)
    if tour is None:
        return None
    return tour, min(st.session_state.get(state.TOUR_STEP, 0), len(tour.steps) - 1)


def model_label(name: str) -> str | None:
    """The picker label of the stored model `name` (shipped first, then saved), if it is here."""
    labels = model_labels()
    return next((prefix + name for prefix in (SHIPPED_PREFIX, SAVED_PREFIX)
                 if prefix + name in labels), None)


def go_to_step(tour: Tour, index: int) -> None:
    """Show step `index` of `tour`: its model made active, then its page with its parameters
    (and present=1 kept while presenting). Stops this run, as st.switch_page does."""
    index = max(0, min(index, len(tour.steps) - 1))
    st.session_state[state.TOUR] = tour
    st.session_state[state.TOUR_STEP] = index
    step = tour.steps[index]
    st.session_state.pop(state.TOUR_NOTE, None)
    params = dict(step.params)
    # The step's model travels in its link, which ui.models.resolve_active_model follows; a
    # model not here gets the tour's note alone (not the link's note too).
    name = params.get("model")
    if name is not None and model_label(name) is None:
        st.session_state[state.TOUR_NOTE] = (
            f"This step's model {name!r} is not in this installation: showing the active one.")
        del params["model"]
    if st.session_state.get(state.PRESENTING):
        params[PRESENT_PARAM] = "1"
    st.switch_page(step.page, query_params=params)


def start_tour(tour: Tour | None = None) -> None:
    """The home page's "Start the tour" button: the first step of `tour` (the shipped one)."""
    go_to_step(tour or shipped_tour(), 0)


def end_tour() -> None:
    st.session_state.pop(state.TOUR, None)
    st.session_state.pop(state.TOUR_STEP, None)
    st.session_state.pop(state.TOUR_NOTE, None)


def current_view(url_path: str, text: str) -> Step:
    """This view as a step: the page on show, its query parameters and the active stored
    model's name (a model trained or uploaded in this session cannot be named), checked as an
    uploaded step is; raises TourError saying what does not fit."""
    # The model on show is the active one, whatever the URL says; a session model has no name
    # another session could open, so its step names none.
    params = {name: value for name, value in st.query_params.items()
              if name not in (PRESENT_PARAM, "model")}
    label = st.session_state.get(state.ACTIVE_MODEL) or ""
    for prefix in (SHIPPED_PREFIX, SAVED_PREFIX):
        if label.startswith(prefix):
            params["model"] = label.removeprefix(prefix)
    page = page_file(url_path) or url_path
    return read_step({"page": page, "params": params, "text": text}, app_pages(), "this view")
