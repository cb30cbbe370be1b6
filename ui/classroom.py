"""Classroom mode: ?present=1 (or the sidebar's toggle) hides the sidebar and enlarges type and
pictures for a projector; the tour bar above every page shows the step, its sentence, and
Previous / Next (PageDown / PageUp too), with a teacher's tools to save, download and upload.
"""

from __future__ import annotations

import streamlit as st

from ui import state, tour
from ui.plain_text import inert
from ui.tour_format import MAX_STEPS, MAX_TEXT, Question, Tour, TourError, read_tour, tour_json
from ui.tour_keys import tour_keys

# Only while presenting. Streamlit's sizes are in rem: a larger root font enlarges all type.
# Pictures are PNGs at their own size; zoom enlarges them (no pointer maths inside an image);
# the browser decoder's canvases are sized instead (its pointer maths read the drawn box).
# A projector's first screen (1280x720) holds what a step talks about: no header, a compact tour
# bar, a smaller title, then the page's first picture (CSS order: the page's elements are the
# children of one flex column), then the rest of the page.
# Two browser-decoded views in one row (the sliders' digit and the 2-D code plane), each with a
# picture beside another: four pictures and their gaps in the screen's width (275 px each at
# 1280 px, with room for a scroll bar), 336 px as elsewhere on a screen wide enough.
SIDE_BY_SIDE = "classroom_side_by_side"
_QUARTER = "clamp(160px, calc((100vw - 6rem) / 4 - 1rem), 336px)"
_MAIN = '[data-testid="stMainBlockContainer"] > [data-testid="stVerticalBlock"]'
_PICTURE = (':is([data-testid="stImage"], .ll-decoder, [data-testid="stPlotlyChart"], '
            '[data-testid="stVegaLiteChart"], [data-testid="stGraphVizChart"])')
PRESENT_CSS = f"""<style>
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"],
[data-testid="stExpandSidebarButton"], header[data-testid="stHeader"] {{
    display: none !important; }}
html {{ font-size: 22px; }}
@media (max-height: 820px) {{ html {{ font-size: 18px; }} }}
[data-testid="stMainBlockContainer"] {{ max-width: 100%; padding: 0.75rem 2rem 3rem; }}
[data-testid="stMain"] [data-testid="stImage"] img {{ zoom: 1.4; image-rendering: pixelated; }}
[data-testid="stMain"] .ll-canvas, [data-testid="stMain"] .ll-plane {{ width: 336px;
    height: 336px; }}
[data-testid="stMain"] .ll-caption, [data-testid="stMain"] .ll-note {{ max-width: 336px; }}
[data-testid="stMain"] .st-key-{SIDE_BY_SIDE} :is(.ll-canvas, .ll-plane) {{
    width: {_QUARTER}; height: {_QUARTER}; }}
[data-testid="stMain"] h1 {{ font-size: 1.6rem; padding: 0; }}
[data-testid="stMain"] :is(h2, h3) {{ font-size: 1.25rem; }}
.st-key-classroom_bar {{ padding: 0.4rem 0.8rem; gap: 0.3rem; }}
.st-key-classroom_bar button {{ min-height: 0; padding: 0.15rem 0.7rem; }}
.st-key-classroom_bar [data-testid="stMarkdownContainer"] p {{ font-size: 1.05rem;
    margin-bottom: 0; }}
{_MAIN} > * {{ order: 0; }}
{_MAIN} > :has(.st-key-classroom_bar) {{ order: -3; }}
{_MAIN} > :has(h1) {{ order: -2; }}
{_MAIN} > :has({_PICTURE}):not(:has(.st-key-classroom_bar)):not(
    {_MAIN} > :has({_PICTURE}) ~ *) {{ order: -1; }}
</style>"""


def present_mode() -> bool:
    """Whether this run presents; ?present=1 turns it on and the URL keeps saying so (pages
    that drop the query parameters on the way get it back)."""
    if st.query_params.get(tour.PRESENT_PARAM) == "1":
        st.session_state[state.PRESENTING] = True
    elif st.session_state.get(state.PRESENTING):
        st.query_params[tour.PRESENT_PARAM] = "1"
    return presenting()


def presenting() -> bool:
    """Whether this run presents (present_mode has read the link at the top of the run)."""
    return bool(st.session_state.get(state.PRESENTING))


def _toggled() -> None:
    if st.session_state.get(state.PRESENTING):
        st.query_params[tour.PRESENT_PARAM] = "1"
    else:
        st.query_params.pop(tour.PRESENT_PARAM, None)


def _leave() -> None:
    st.session_state[state.PRESENTING] = False
    st.query_params.pop(tour.PRESENT_PARAM, None)


def present_toggle() -> None:
    """The sidebar's switch into classroom mode (out of it: the bar's Leave button)."""
    with st.sidebar:
        st.toggle("Classroom mode", key=state.PRESENTING, on_change=_toggled,
                  help="No sidebar, large type and pictures, and the guided tour's controls. "
                       "Or open the app with ?present=1.")


def _steps(current_tour: Tour, index: int, move: str | None) -> None:
    """Counter and the buttons (and the keys' `move`) that go between steps (the row's start).
    On a step with a question, the first Next (or PageDown) shows the answer, the next moves on."""
    last = len(current_tour.steps) - 1
    to_reveal = (current_tour.steps[index].question is not None
                 and not st.session_state.get(state.TOUR_REVEALED))
    if st.button("Previous", key="classroom_previous", icon=":material/chevron_left:",
                 disabled=index == 0) or (move == "previous" and index > 0):
        tour.go_to_step(current_tour, index - 1)
    st.markdown(f"**{index + 1} / {len(current_tour.steps)}**", width="content")
    if st.button("Next", key="classroom_next", icon=":material/chevron_right:",
                 disabled=index == last and not to_reveal, type="primary") or (
            move == "next" and (index < last or to_reveal)):
        if to_reveal:
            st.session_state[state.TOUR_REVEALED] = True  # drawn below, in this run
        else:
            tour.go_to_step(current_tour, index + 1)
    st.space("stretch")
    if st.button("End tour", key="classroom_end"):
        tour.end_tour()
        st.rerun()


def _question(question: Question, index: int) -> None:
    """The step's question: the class predicts (a choice may be marked), Next shows the answer."""
    # A tour file's text, shown as text (plain *emphasis* only), like the step's sentence.
    guess = st.radio(f"**Predict:** {inert(question.text)}", range(len(question.choices)),
                     format_func=lambda choice: inert(question.choices[choice]), index=None,
                     horizontal=True,
                     key=f"classroom_guess_{index}")
    if st.session_state.get(state.TOUR_REVEALED):
        verdict = "" if guess is None else ("Right! " if guess == question.answer else
                                            "Not this time. ")
        st.info(f"{verdict}**Answer:** {inert(question.choices[question.answer])}. "
                f"{inert(question.why)}",
                icon=":material/lightbulb:")


def _start() -> None:
    """The way into the shipped tour, when none runs (the row's start)."""
    if st.button("Start the tour", key="classroom_start", type="primary",
                 icon=":material/tour:"):
        tour.start_tour()
    shipped = tour.shipped_tour()
    st.markdown(f"**{inert(shipped.title)}**, {len(shipped.steps)} steps", width="stretch",
                help="The tutorials' story, one page at a time. PageDown and PageUp (a "
                     "presentation clicker's keys) step it, as Next and Previous do.")


def _say(message: str, refused: bool = False) -> None:
    """A line for the bar's next run (a callback draws nothing itself)."""
    st.session_state[state.CLASSROOM_MESSAGE] = (message, refused)


def _save_step(url_path: str) -> None:
    running = tour.current()
    text = st.session_state.get("classroom_step_text", "")
    if not text.strip():
        _say("Not saved: write a sentence for this view first.", refused=True)
        return
    try:
        step = tour.current_view(url_path, text)
    except TourError as error:
        _say(f"Not saved: {error}.", refused=True)
        return
    steps, index = (running[0].steps, running[1]) if running else ((), -1)
    title = running[0].title if running else "My tour"
    if len(steps) >= MAX_STEPS:
        _say(f"Not saved: a tour has at most {MAX_STEPS} steps.", refused=True)
        return
    # After the step on show, where a teacher building a story expects it.
    st.session_state[state.TOUR] = Tour(title, (*steps[:index + 1], step, *steps[index + 1:]))
    st.session_state[state.TOUR_STEP] = index + 1
    st.session_state["classroom_step_text"] = ""
    _say(f"Saved as step {index + 2}.")


def _remove_step() -> None:
    """Drop the step on show; the page stays as it is (the view is still there to save)."""
    running = tour.current()
    if running is None:
        return
    (current_tour, index) = running
    steps = current_tour.steps[:index] + current_tour.steps[index + 1:]
    if not steps:
        tour.end_tour()
    else:
        st.session_state[state.TOUR] = Tour(current_tour.title, steps)
        st.session_state[state.TOUR_STEP] = min(index, len(steps) - 1)
    _say(f"Removed step {index + 1}; {len(steps)} left.")


def _upload() -> None:
    upload = st.session_state.get("classroom_upload")
    # The uploader keeps its file, and its value comes back as a change when a step switches
    # pages: only a file not loaded before is read (else Next fell back to step 1).
    if upload is None or upload.file_id == st.session_state.get(state.TOUR_UPLOADED):
        return
    st.session_state[state.TOUR_UPLOADED] = upload.file_id
    try:
        uploaded = read_tour(upload.getvalue(), tour.app_pages())
    except TourError as error:
        _say(f"{upload.name} was not loaded: {error}.", refused=True)
        return
    st.session_state[state.TOUR] = uploaded
    st.session_state[state.TOUR_STEP] = 0
    st.session_state[state.TOUR_PENDING_STEP] = 0  # a callback cannot switch: the bar will
    _say(f"Loaded {uploaded.title!r} ({len(uploaded.steps)} steps).")


def _teacher_tools(url_path: str, running: tuple[Tour, int] | None) -> None:
    with st.popover("Teacher's tools", icon=":material/edit_note:",
                    help="Save this view as a step (after the one on show), remove a step, "
                         "download or upload a tour"):
        st.text_input("A sentence for this view", key="classroom_step_text", max_chars=MAX_TEXT,
                      placeholder="What should the class notice here?")
        st.button("Save this view as a step", key="classroom_save", on_click=_save_step,
                  args=(url_path,), icon=":material/add_location:")
        if running:
            st.button("Remove this step", key="classroom_remove", on_click=_remove_step,
                      icon=":material/delete:")
            st.download_button(
                "Download the tour", tour_json(running[0]), file_name="tour.json",
                mime="application/json", key="classroom_download", icon=":material/download:")
        st.file_uploader("Upload a tour (.json)", type=["json"], key="classroom_upload",
                         max_upload_size=1,  # MB: a tour is at most 64 KB
                         on_change=_upload)


def _message() -> None:
    if state.CLASSROOM_MESSAGE in st.session_state:
        message, refused = st.session_state.pop(state.CLASSROOM_MESSAGE)
        (st.error if refused else st.success)(inert(message))  # names a file and its text


def classroom_bar(url_path: str, presenting: bool) -> None:
    """Above the page: the tour's step and controls while a tour runs; while presenting, also
    the way to start the tour, to leave, and the teacher's tools. `url_path` is the page's."""
    if presenting:
        st.html(PRESENT_CSS)
    tour.apply_step_widgets()  # before the page draws them
    running = tour.current()
    if running is not None and st.session_state.pop(state.TOUR_PENDING_STEP, None) is not None:
        tour.go_to_step(*running)
    if running is None and not presenting:
        with st.sidebar:  # to build a tour while the sidebar still picks models
            _teacher_tools(url_path, None)
            _message()
        return
    with st.container(border=True, key="classroom_bar"):
        move = tour_keys(running[1] + 1) if running is not None else None  # takes no room
        with st.container(horizontal=True, vertical_alignment="center"):
            if running is not None:
                _steps(*running, move)
            else:
                _start()
            _teacher_tools(url_path, running)
            if presenting:
                st.button("Leave", key="classroom_leave", on_click=_leave,
                          icon=":material/logout:", help="Leave classroom mode")
        if running is not None:
            current_tour, index = running
            step = current_tour.steps[index]
            # A tour file's text: plain *emphasis* only, never an image or a link.
            st.markdown(f"{inert(step.text)} *({inert(current_tour.title)})*")
            if step.question is not None:
                _question(step.question, index)
            if state.TOUR_NOTE in st.session_state:
                st.caption(inert(st.session_state[state.TOUR_NOTE]))
        _message()
