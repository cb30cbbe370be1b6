"""Classroom mode under AppTest: ?present=1 hides the sidebar and shows the tour's controls;
Previous / Next (and the keys' triggers) go to the steps' pages with their models; a teacher
saves the current view as a step."""

from __future__ import annotations

from tests.pages import open_page
from ui import classroom, state
from ui.tour_format import Question, Step, Tour, tour_json

TWO_STEPS = Tour("Two stops", (
    Step("app_pages/home.py", "The front door.", {"model": "tiny_2d"}),
    Step("app_pages/anomaly.py", "What the model cannot rebuild.", {"model": "tiny_map"}),
))


def presenting(folder, monkeypatch, page: str = "app_pages/home.py"):
    at = open_page(page, folder, monkeypatch, "tiny_plain")
    at.query_params["present"] = "1"
    at.run()
    assert not at.exception, at.exception
    return at


def styles(at) -> str:
    return "".join(element.proto.body for element in at.get("html"))


def bar_text(at) -> str:
    return " ".join(md.value for md in at.main.markdown)


def test_present_mode_hides_the_sidebar_and_shows_the_tour_controls(checkpoint_dir, monkeypatch):
    at = open_page("app_pages/home.py", checkpoint_dir, monkeypatch, "tiny_plain")
    assert "stSidebar" not in styles(at)  # not presenting: the sidebar stays
    assert at.toggle(key=state.PRESENTING).value is False
    at.query_params["present"] = "1"
    at.run()
    assert not at.exception
    assert classroom.PRESENT_CSS in styles(at)
    assert '[data-testid="stSidebar"]' in classroom.PRESENT_CSS
    assert at.toggle(key=state.PRESENTING).value is True
    assert at.button(key="classroom_start").label == "Start the tour"
    assert at.button(key="classroom_leave")
    # Leaving: the style and the bar go, and the URL no longer says present.
    at.button(key="classroom_leave").click().run()
    assert not at.exception
    assert "stSidebar" not in styles(at)
    assert "present" not in at.query_params
    assert not [button for button in at.button if button.key == "classroom_start"]


def test_the_sidebar_toggle_turns_present_mode_on(checkpoint_dir, monkeypatch):
    at = open_page("app_pages/home.py", checkpoint_dir, monkeypatch, "tiny_plain")
    at.toggle(key=state.PRESENTING).set_value(True).run()
    assert not at.exception
    at.run()  # the next run draws with the style
    assert classroom.PRESENT_CSS in styles(at)
    assert at.query_params["present"] == "1"


def test_next_and_previous_go_to_the_steps_pages_and_models(checkpoint_dir, monkeypatch):
    at = presenting(checkpoint_dir, monkeypatch)
    at.session_state[state.TOUR] = TWO_STEPS
    at.session_state[state.TOUR_STEP] = 0
    at.run()
    assert "1 / 2" in bar_text(at) and "The front door." in bar_text(at)
    assert at.button(key="classroom_previous").disabled

    at.button(key="classroom_next").click().run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Anomaly detection"
    assert "2 / 2" in bar_text(at) and "What the model cannot rebuild." in bar_text(at)
    assert at.session_state[state.ACTIVE_MODEL] == "shipped: tiny_map"
    assert at.query_params["model"] == "tiny_map" and at.query_params["present"] == "1"
    assert at.button(key="classroom_next").disabled

    at.button(key="classroom_previous").click().run()
    assert not at.exception
    assert at.title[0].value == "Latent Lab"
    assert at.session_state[state.ACTIVE_MODEL] == "shipped: tiny_2d"
    assert "1 / 2" in bar_text(at)

    at.button(key="classroom_end").click().run()
    assert state.TOUR not in at.session_state
    assert at.button(key="classroom_start")  # presenting still, no tour


def test_a_step_naming_a_missing_model_says_so_in_a_line(checkpoint_dir, monkeypatch):
    at = presenting(checkpoint_dir, monkeypatch)
    at.session_state[state.TOUR] = Tour("One", (
        Step("app_pages/home.py", "Here.", {}),
        Step("app_pages/home.py", "There.", {"model": "not_here"}),))
    at.run()
    at.button(key="classroom_next").click().run()
    assert not at.exception
    assert "'not_here' is not in this installation" in at.caption[0].value
    assert at.session_state[state.ACTIVE_MODEL] == "shipped: tiny_plain"


def test_start_the_tour_in_the_bar_opens_the_shipped_tours_first_step(checkpoint_dir,
                                                                    monkeypatch):
    at = presenting(checkpoint_dir, monkeypatch)
    at.button(key="classroom_start").click().run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Bottleneck sliders"
    assert "1 / 7" in bar_text(at)
    assert at.session_state[state.ACTIVE_MODEL] == "shipped: ae_32"


def test_a_teacher_saves_this_view_as_a_step_and_downloads_the_tour(checkpoint_dir,
                                                                   monkeypatch):
    at = presenting(checkpoint_dir, monkeypatch, "app_pages/anomaly.py")
    at.button(key="classroom_save").click().run()  # no sentence yet
    assert [error.value for error in at.error] == [
        "Not saved: write a sentence for this view first."]
    assert state.TOUR not in at.session_state

    at.text_input(key="classroom_step_text").input("Look at the worst cases.")
    at.button(key="classroom_save").click().run()
    assert not at.exception, at.exception
    assert [success.value for success in at.success] == ["Saved as step 1."]
    saved = at.session_state[state.TOUR]
    (step,) = saved.steps
    assert step == Step("app_pages/anomaly.py", "Look at the worst cases.",
                        {"model": "tiny_plain"}, step.widgets)  # and the page's choices
    assert step.widgets["anomaly_kind"] == "class"
    at.run()
    assert "1 / 1" in bar_text(at)
    assert [button.proto.label for button in at.get("download_button")  # the bar's, not the
            if button.key.startswith("classroom")] == ["Download the tour"]  # page's pictures


def test_an_uploaded_tour_is_validated_then_opens_at_its_first_step(checkpoint_dir, monkeypatch):
    at = presenting(checkpoint_dir, monkeypatch)
    bad = tour_json(TWO_STEPS).replace('"title"', '"author": "me", "title"')
    at.file_uploader(key="classroom_upload").upload("bad.json", bad.encode(), "application/json")
    at.run()
    assert not at.exception
    assert [error.value for error in at.error] == [
        "bad.json was not loaded: tour: unknown key 'author' (allowed: format, version, title, "
        "steps)."]
    assert state.TOUR not in at.session_state

    wrong_page = tour_json(TWO_STEPS).replace("app_pages/anomaly.py", "app_pages/nope.py")
    at.file_uploader(key="classroom_upload").upload("page.json", wrong_page.encode())
    at.run()
    assert "step 2: 'app_pages/nope.py' is not a page of this app" in at.error[0].value

    good = tour_json(TWO_STEPS).replace("app_pages/home.py", "app_pages/anomaly.py", 1)
    at.file_uploader(key="classroom_upload").upload("good.json", good.encode())
    at.run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Anomaly detection"  # its first step
    assert "1 / 2" in bar_text(at)
    assert [success.value for success in at.success] == ["Loaded 'Two stops' (2 steps)."]


def test_without_classroom_mode_the_teachers_tools_sit_in_the_sidebar(checkpoint_dir,
                                                                      monkeypatch):
    at = open_page("app_pages/anomaly.py", checkpoint_dir, monkeypatch, "tiny_plain")
    assert at.sidebar.button(key="classroom_save")
    at.sidebar.text_input(key="classroom_step_text").input("The worst cases.")
    at.sidebar.button(key="classroom_save").click().run()
    assert not at.exception
    # Now a tour runs: its bar is above the page, the tools with it.
    assert "1 / 1" in bar_text(at) and "The worst cases." in bar_text(at)


def test_a_saved_view_goes_after_the_step_on_show_and_a_step_can_be_removed(checkpoint_dir,
                                                                            monkeypatch):
    at = presenting(checkpoint_dir, monkeypatch)
    at.session_state[state.TOUR] = TWO_STEPS
    at.session_state[state.TOUR_STEP] = 0
    at.run()
    at.text_input(key="classroom_step_text").input("In between.")
    at.button(key="classroom_save").click().run()
    assert not at.exception, at.exception
    assert [success.value for success in at.success] == ["Saved as step 2."]
    steps = at.session_state[state.TOUR].steps
    assert [step.text for step in steps] == [
        "The front door.", "In between.", "What the model cannot rebuild."]
    assert at.session_state[state.TOUR_STEP] == 1

    at.button(key="classroom_remove").click().run()
    assert not at.exception, at.exception
    assert [success.value for success in at.success] == ["Removed step 2; 2 left."]
    assert at.session_state[state.TOUR].steps == TWO_STEPS.steps
    assert at.session_state[state.TOUR_STEP] == 1
    at.button(key="classroom_remove").click().run()
    at.button(key="classroom_remove").click().run()
    assert state.TOUR not in at.session_state  # the last step removed: no tour runs


def test_a_saved_view_keeps_the_pages_choices_and_a_step_sets_them_again(checkpoint_dir,
                                                                         monkeypatch):
    at = presenting(checkpoint_dir, monkeypatch, "app_pages/anomaly.py")
    at.radio(key="anomaly_kind").set_value("noise").run()
    at.radio(key="anomaly_rule").set_value("mean_std").run()
    at.slider(key="anomaly_k").set_value(2.5).run()
    at.text_input(key="classroom_step_text").input("Noise is easy to catch.")
    at.button(key="classroom_save").click().run()
    assert not at.exception, at.exception
    saved = at.session_state[state.TOUR].steps[0]
    assert saved.widgets["anomaly_kind"] == "noise" and saved.widgets["anomaly_rule"] == "mean_std"
    assert saved.widgets["anomaly_k"] == 2.5
    # Only the page's own choices: no button, no other page's key, no session bookkeeping.
    assert all(key.startswith("anomaly_") for key in saved.widgets)
    assert not {"anomaly_roc", "anomaly_histogram"} & set(saved.widgets)

    at.radio(key="anomaly_kind").set_value("class").run()
    at.radio(key="anomaly_rule").set_value("quantile").run()
    at.session_state[state.TOUR] = Tour("Back", (
        Step("app_pages/home.py", "The front door.", {"model": "tiny_plain"}), saved))
    at.session_state[state.TOUR_STEP] = 0
    at.run()
    at.button(key="classroom_next").click().run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Anomaly detection"
    assert at.radio(key="anomaly_kind").value == "noise"
    assert at.radio(key="anomaly_rule").value == "mean_std"
    assert at.slider(key="anomaly_k").value == 2.5


def test_the_shipped_tours_anomaly_step_opens_on_clothes(checkpoint_dir, monkeypatch):
    step = classroom.tour.shipped_tour().steps[6]
    assert step.page == "app_pages/anomaly.py" and step.widgets == {"anomaly_kind": "ood"}
    at = presenting(checkpoint_dir, monkeypatch)
    at.session_state[state.TOUR] = Tour("One", (
        Step("app_pages/home.py", "Here.", {}),
        Step(step.page, step.text, {"model": "tiny_plain"}, step.widgets)))
    at.run()
    at.button(key="classroom_next").click().run()
    assert not at.exception, at.exception
    assert at.radio(key="anomaly_kind").value == "ood"


def test_a_steps_question_is_answered_on_next_before_the_tour_moves_on(checkpoint_dir,
                                                                       monkeypatch):
    question = Question("Which comes back?", ("The noise", "The digit"), 1, "It fits.")
    at = presenting(checkpoint_dir, monkeypatch)
    at.session_state[state.TOUR] = Tour("Ask", (
        Step("app_pages/home.py", "Predict first.", {}, question=question),
        Step("app_pages/anomaly.py", "Then this.", {"model": "tiny_map"})))
    at.session_state[state.TOUR_STEP] = 0
    at.run()
    guess = at.radio(key="classroom_guess_0")
    assert "Which comes back?" in guess.label and guess.value is None
    assert not at.info
    guess.set_value(0).run()
    at.button(key="classroom_next").click().run()
    assert not at.exception, at.exception
    assert "1 / 2" in bar_text(at)  # still here: the answer shows first
    assert at.info[0].value == "Not this time. **Answer:** The digit. It fits."
    at.button(key="classroom_next").click().run()
    assert "2 / 2" in bar_text(at) and not at.info
    at.button(key="classroom_previous").click().run()
    assert "1 / 2" in bar_text(at) and not at.info  # back on it: asked afresh
