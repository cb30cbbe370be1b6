"""A tour file read with validation: the shipped tour, a round trip, and the refusals."""

from __future__ import annotations

import json

import pytest

from ui import tour
from ui.tour_format import (
    MAX_BYTES,
    MAX_STEPS,
    MAX_TEXT,
    Question,
    Step,
    Tour,
    TourError,
    read_tour,
    tour_json,
)

PAGES = ["app_pages/home.py", "app_pages/sliders.py", "app_pages/anomaly.py"]


def tour_text(**changes) -> str:
    data = {"format": "latent-lab-tour", "version": 1, "title": "Two stops",
            "steps": [{"page": "app_pages/sliders.py", "params": {"model": "ae_32", "digit": "7"},
                       "text": "Drag a slider."},
                      {"page": "app_pages/anomaly.py", "text": "What the model cannot rebuild."}]}
    data.update(changes)
    return json.dumps(data)


def step_text(**changes) -> str:
    step = {"page": "app_pages/sliders.py", "params": {}, "text": "A sentence."}
    step.update(changes)
    return tour_text(steps=[step])


def test_a_good_file_reads_and_writes_back_the_same():
    read = read_tour(tour_text(), PAGES)
    assert read == Tour("Two stops", (
        Step("app_pages/sliders.py", "Drag a slider.", {"model": "ae_32", "digit": "7"}),
        Step("app_pages/anomaly.py", "What the model cannot rebuild.", {})))
    assert read_tour(tour_json(read), PAGES) == read
    assert read_tour(tour_json(read).encode(), PAGES) == read  # an upload's bytes


def test_the_shipped_tour_tells_the_tutorials_story_on_real_pages_and_models():
    shipped = tour.shipped_tour()
    pages = [step.page.removeprefix("app_pages/") for step in shipped.steps]
    assert pages == ["sliders.py", "bottleneck.py", "denoise.py", "sliders.py", "interpolate.py",
                     "latent_map.py", "anomaly.py"]
    for step in shipped.steps:
        assert (tour.PAGES_DIR.parent / step.page).is_file()
        model = step.params["model"]
        assert (tour.state.PROJECT_ROOT / "checkpoints" / f"{model}.safetensors").is_file()


@pytest.mark.parametrize(("raw", "message"), [
    (tour_text(author="me"), "tour: unknown key 'author'"),
    (step_text(zoom=2), "step 1: unknown key 'zoom'"),
    (step_text(page="app_pages/secret.py"), "step 1: 'app_pages/secret.py' is not a page"),
    (step_text(page="../app.py"), "is not a page of this app"),
    (step_text(page=3), "step 1: '3' is not a page"),
    (step_text(text=["a", "list"]), "step 1.text must be text, not list"),
    (step_text(text="   "), "step 1.text is empty"),
    (step_text(text="x" * (MAX_TEXT + 1)), f"at most {MAX_TEXT}"),
    (step_text(params=["model", "ae_32"]), "step 1.params must be an object"),
    (step_text(params={"digit": 7}), "step 1.params.digit must be text, not int"),
    (step_text(params={"present": "1"}), "'present' is not a parameter a step can hold"),
    (step_text(params={"Bad Name": "1"}), "'Bad Name' is not a parameter"),
    (step_text(params={"code": "A" * 201}), "at most 200"),
    (step_text(widgets={"anomaly_kind": "ood"}), "'anomaly_kind' is not a widget of this step's"),
    (step_text(widgets=["sliders_class", 3]), "step 1.widgets must be an object"),
    (step_text(widgets={"sliders_class": {"a": 1}}), "must be text, a number, true/false"),
    (step_text(widgets={"sliders_class": [[1]]}), "sliders_class[0] must be text, a number"),
    (step_text(widgets={"sliders_class": None}), "not NoneType"),
    (step_text(widgets={"sliders_x": 1e300}), "must be a finite number"),
    (step_text(widgets={"sliders_x": "A" * 201}), "at most 200"),
    (step_text(widgets={"sliders_x": list(range(65))}), "at most 64"),
    (step_text(widgets={f"sliders_{n}": n for n in range(25)}), "at most 24"),
    (step_text(question="Which?"), "step 1.question must be an object"),
    (step_text(question={"text": "Which?", "choices": ["a"], "answer": 0}), "2 to 6 texts"),
    (step_text(question={"text": "Which?", "choices": ["a", "b"], "answer": 2}),
     "answer must be the index of a choice, 0 to 1"),
    (step_text(question={"text": "Which?", "choices": ["a", "b"], "answer": True}),
     "answer must be the index"),
    (step_text(question={"text": "Which?", "choices": ["a", 3], "answer": 0}),
     "question.choices[1] must be text"),
    (step_text(question={"choices": ["a", "b"], "answer": 0}), "question has no 'text'"),
    (step_text(question={"text": "Q", "choices": ["a", "b"], "answer": 0, "hint": "h"}),
     "step 1.question: unknown key 'hint'"),
    (tour_text(steps=[]), "the tour has no steps"),
    (tour_text(steps={"page": "x"}), "'steps' must be a list, not dict"),
    (tour_text(steps=[{"page": "app_pages/home.py", "text": "a"}] * (MAX_STEPS + 1)),
     f"at most {MAX_STEPS}"),
    (tour_text(format="something-else"), "not a tour"),
    (tour_text(version=2), "version 2 is not supported"),
    (tour_text(title=12), "title must be text, not int"),
    ("[1, 2]", "a tour is a JSON object, not list"),
    ("{not json", "not JSON"),
    (b"\xff\xfe", "not JSON"),
    (" " * (MAX_BYTES + 1), "a tour is at most"),
])
def test_bad_files_are_refused_with_a_one_line_message(raw, message):
    with pytest.raises(TourError) as refused:
        read_tour(raw, PAGES)
    assert message in str(refused.value)
    assert "\n" not in str(refused.value)


def test_a_step_without_a_page_or_sentence_is_refused():
    for missing in ("page", "text"):
        step = {"page": "app_pages/home.py", "text": "a"}
        del step[missing]
        with pytest.raises(TourError, match=f"step 1 has no '{missing}'"):
            read_tour(tour_text(steps=[step]), PAGES)


def test_a_sentence_becomes_one_line():
    read = read_tour(step_text(text="Two\nlines,   spaced."), PAGES)
    assert read.steps[0].text == "Two lines, spaced."


def test_a_steps_widgets_and_question_read_and_write_back():
    question = {"text": "Where do the 4s land?", "choices": ["Beside the 9s", "Far away"],
                "answer": 0, "why": "They share strokes."}
    read = read_tour(step_text(widgets={"sliders_class": 4, "sliders_show_all": True,
                                        "sliders_range": [0.5, 1.5], "sliders_mode": "By class"},
                               question=question), PAGES)
    step = read.steps[0]
    assert step.widgets == {"sliders_class": 4, "sliders_show_all": True,
                            "sliders_range": [0.5, 1.5], "sliders_mode": "By class"}
    assert step.question == Question("Where do the 4s land?", ("Beside the 9s", "Far away"), 0,
                                     "They share strokes.")
    assert read_tour(tour_json(read), PAGES) == read
    # A step with neither writes as version 1's files did.
    plain = read_tour(tour_text(), PAGES)
    assert "widgets" not in tour_json(plain) and "question" not in tour_json(plain)
