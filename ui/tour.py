"""A guided tour in this session: which tour, which step, and going to a step (its page, with
its query parameters and its model). The home page's "Start the tour" starts the shipped one.

The format and its validation are in ui/tour_format.py; the bar that shows a step and its
buttons is in ui/classroom.py.
"""

from __future__ import annotations

import streamlit as st

from ui import state
from ui.models import SAVED_PREFIX, SHIPPED_PREFIX, model_labels
from ui.tour_format import Step, Tour, TourError, page_prefix, read_step, read_tour, read_widgets

TOURS_DIR = state.PROJECT_ROOT / "tours"
SHIPPED_TOUR = TOURS_DIR / "tutorial_story.json"
PAGES_DIR = state.PROJECT_ROOT / "app_pages"
PRESENT_PARAM = "present"  # ?present=1: classroom mode
# Widgets whose value a step may set again (Streamlit's names for how each kind keeps its value):
# choices, numbers, sliders, toggles, text; never a button, an upload or a chart's selection.
SETTABLE_WIDGETS = frozenset({"bool_value", "int_value", "double_value", "string_value",
                              "double_array_value", "string_array_value"})


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
    # Set on the step's page before its widgets are drawn (ui.classroom.classroom_bar).
    st.session_state[state.TOUR_WIDGETS] = dict(step.widgets)
    st.session_state.pop(state.TOUR_REVEALED, None)
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


def apply_step_widgets() -> None:
    """The step just opened sets its page's widgets: called before the page draws them, so each
    widget takes the value as its own (a widget drawn later keeps it: it is session state)."""
    for key, value in st.session_state.pop(state.TOUR_WIDGETS, {}).items():
        st.session_state[key] = value


def page_widgets(page: str) -> dict:
    """The values of `page`'s own widgets on show (keys starting with its name) that a step can
    set again: plain values of choices, numbers, sliders, toggles and text."""
    from streamlit.runtime.state import get_session_state

    session = get_session_state()._state  # which kind of widget holds a key is only known here
    values = {}
    for key in sorted(st.session_state.keys()):
        if not key.startswith(page_prefix(page)):
            continue
        widget_id = session.get_widget_id_from_key(key)
        metadata = session.get_widget_metadata(widget_id) if widget_id else None
        value = st.session_state[key]
        if isinstance(value, tuple):
            value = list(value)  # a range slider's pair
        if metadata is None or metadata.value_type not in SETTABLE_WIDGETS:
            continue
        try:  # what a tour file could not hold (a long text, an odd value) stays out
            values.update(read_widgets({key: value}, page))
        except TourError:
            continue
    return values


def end_tour() -> None:
    st.session_state.pop(state.TOUR, None)
    st.session_state.pop(state.TOUR_STEP, None)
    st.session_state.pop(state.TOUR_NOTE, None)
    st.session_state.pop(state.TOUR_REVEALED, None)


def current_view(url_path: str, text: str) -> Step:
    """This view as a step: the page on show, its query parameters, its widgets' values and the
    active stored model's name (a model trained or uploaded in this session cannot be named),
    checked as an uploaded step is; raises TourError saying what does not fit."""
    # The model on show is the active one, whatever the URL says; a session model has no name
    # another session could open, so its step names none.
    params = {name: value for name, value in st.query_params.items()
              if name not in (PRESENT_PARAM, "model")}
    label = st.session_state.get(state.ACTIVE_MODEL) or ""
    for prefix in (SHIPPED_PREFIX, SAVED_PREFIX):
        if label.startswith(prefix):
            params["model"] = label.removeprefix(prefix)
    page = page_file(url_path) or url_path
    return read_step({"page": page, "params": params, "text": text,
                      "widgets": page_widgets(page)}, app_pages(), "this view")
