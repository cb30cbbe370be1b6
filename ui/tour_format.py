"""A guided tour as a JSON file: its format, reading it with validation, writing it back.

No streamlit here: a tour is data, read from the repository or from a teacher's upload, and
`read_tour` refuses anything odd with a `TourError` whose message is one line for the page.

    {"format": "latent-lab-tour", "version": 1, "title": "The autoencoder story",
     "steps": [{"page": "app_pages/sliders.py", "params": {"model": "ae_32"},
                "text": "Drag one slider at a time ..."}, ...]}

A step is a saved view: a page of the app, the query parameters that page reads (model, digit,
code, a, b, path, proj, color, ...), and a sentence of explanation. Optional (files without them
still read):
- "widgets": the page's own widget choices and slider positions, widget key -> plain value
  ({"anomaly_kind": "ood"}); every key starts with the page's name ("anomaly_").
- "question": something to predict before the step's answer shows on Next:
  {"text": "...", "choices": ["...", "..."], "answer": 1, "why": "..."} (answer counts from 0).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Collection
from dataclasses import dataclass, field

from ae_core.guard import GuardError, NotJSONError, parse_json

FORMAT = "latent-lab-tour"
VERSION = 1
MAX_BYTES = 64_000  # an upload larger than this is refused before it is parsed
MAX_DEPTH = 6  # tour > steps > step > widgets > a list value (> one more: refused by its check)
MAX_STEPS = 40
MAX_TEXT = 400  # characters of a step's sentence
MAX_TITLE = 100
MAX_PARAMS = 12  # query parameters per step
MAX_VALUE = 200  # characters of a parameter's value (a 32-number code is 86)
PARAM_NAME = re.compile(r"[a-z][a-z0-9_]{0,19}")
RESERVED_PARAMS = ("present",)  # set by classroom mode itself, never saved in a step
TOUR_KEYS = ("format", "version", "title", "steps")
STEP_KEYS = ("page", "params", "text", "widgets", "question")
MAX_WIDGETS = 24  # widget values per step
MAX_LIST = 64  # items of a list value (a multiselect, a range slider)
WIDGET_KEY = re.compile(r"[a-z][a-z0-9_]{0,59}")
QUESTION_KEYS = ("text", "choices", "answer", "why")
MAX_CHOICES = 6
MAX_CHOICE = 120  # characters of a choice


class TourError(ValueError):
    """A tour file that cannot be used; the message is one line, fit to show as it is."""


@dataclass(frozen=True)
class Question:
    text: str
    choices: tuple[str, ...]
    answer: int  # index of the right choice
    why: str = ""  # a sentence shown with the answer


@dataclass(frozen=True)
class Step:
    page: str  # a page's file, as app.py names it: "app_pages/sliders.py"
    text: str  # the sentence shown with the step
    params: dict[str, str] = field(default_factory=dict)  # the query parameters of the view
    widgets: dict = field(default_factory=dict)  # widget key -> value, set before the page draws
    question: Question | None = None  # asked on the step; its answer shows on Next


@dataclass(frozen=True)
class Tour:
    title: str
    steps: tuple[Step, ...]


def _refuse_unknown(data: dict, allowed: tuple[str, ...], where: str) -> None:
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise TourError(f"{where}: unknown key {unknown[0]!r} (allowed: {', '.join(allowed)})")


def _text(value, limit: int, where: str) -> str:
    if not isinstance(value, str):
        raise TourError(f"{where} must be text, not {type(value).__name__}")
    if not value.strip():
        raise TourError(f"{where} is empty")
    if len(value) > limit:
        raise TourError(f"{where} is {len(value)} characters long; at most {limit}")
    return " ".join(value.split())  # one line: newlines and runs of spaces become one space


def read_params(params, where: str = "params") -> dict[str, str]:
    """A step's query parameters, validated: short lower-case names, short text values."""
    if not isinstance(params, dict):
        raise TourError(f"{where} must be an object of name: text, not {type(params).__name__}")
    if len(params) > MAX_PARAMS:
        raise TourError(f"{where} has {len(params)} parameters; at most {MAX_PARAMS}")
    checked = {}
    for name, value in params.items():
        if not PARAM_NAME.fullmatch(name) or name in RESERVED_PARAMS:
            raise TourError(f"{where}: {name!r} is not a parameter a step can hold")
        if not isinstance(value, str):
            raise TourError(f"{where}.{name} must be text, not {type(value).__name__}")
        if len(value) > MAX_VALUE:
            raise TourError(f"{where}.{name} is {len(value)} characters long; at most {MAX_VALUE}")
        checked[name] = value
    return checked


def page_prefix(page: str) -> str:
    """The start of every widget key of `page` ("app_pages/anomaly.py" -> "anomaly_")."""
    return page.rsplit("/", 1)[-1].removesuffix(".py") + "_"


def _plain(value, where: str):
    """A widget's value as a tour holds it: text, a number, true/false, or a flat list of them."""
    if isinstance(value, list):
        if len(value) > MAX_LIST:
            raise TourError(f"{where} has {len(value)} items; at most {MAX_LIST}")
        return [_plain_scalar(item, f"{where}[{number}]") for number, item in enumerate(value)]
    return _plain_scalar(value, where)


def _plain_scalar(value, where: str):
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        if not math.isfinite(value) or abs(value) > 1e9:
            raise TourError(f"{where} must be a finite number of at most 1e9")
        return value
    if isinstance(value, str):
        if len(value) > MAX_VALUE:
            raise TourError(f"{where} is {len(value)} characters long; at most {MAX_VALUE}")
        return value
    raise TourError(f"{where} must be text, a number, true/false or a list of them, "
                    f"not {type(value).__name__}")


def read_widgets(widgets, page: str, where: str = "widgets") -> dict:
    """A step's widget values, validated: keys of `page`'s own widgets, plain values."""
    if not isinstance(widgets, dict):
        raise TourError(f"{where} must be an object of key: value, not {type(widgets).__name__}")
    if len(widgets) > MAX_WIDGETS:
        raise TourError(f"{where} has {len(widgets)} values; at most {MAX_WIDGETS}")
    prefix = page_prefix(page)
    checked = {}
    for key, value in widgets.items():
        if not WIDGET_KEY.fullmatch(key) or not key.startswith(prefix):
            raise TourError(f"{where}: {key[:60]!r} is not a widget of this step's page "
                            f"(its keys start with {prefix!r})")
        checked[key] = _plain(value, f"{where}.{key}")
    return checked


def read_question(data, where: str = "question") -> Question:
    """A question to predict: its text, 2 to MAX_CHOICES choices, the right one's index."""
    if not isinstance(data, dict):
        raise TourError(f"{where} must be an object, not {type(data).__name__}")
    _refuse_unknown(data, QUESTION_KEYS, where)
    for key in ("text", "choices", "answer"):
        if key not in data:
            raise TourError(f"{where} has no {key!r}")
    choices = data["choices"]
    if not isinstance(choices, list) or not 2 <= len(choices) <= MAX_CHOICES:
        raise TourError(f"{where}.choices must be a list of 2 to {MAX_CHOICES} texts")
    answer = data["answer"]
    if isinstance(answer, bool) or not isinstance(answer, int) or not 0 <= answer < len(choices):
        raise TourError(f"{where}.answer must be the index of a choice, 0 to {len(choices) - 1}")
    why = data.get("why", "")
    return Question(_text(data["text"], MAX_TEXT, f"{where}.text"),
                    tuple(_text(choice, MAX_CHOICE, f"{where}.choices[{number}]")
                          for number, choice in enumerate(choices)),
                    answer, _text(why, MAX_TEXT, f"{where}.why") if why else "")


def read_step(data, pages: Collection[str], where: str = "step") -> Step:
    """One step, validated against the app's `pages` (their files, "app_pages/x.py")."""
    if not isinstance(data, dict):
        raise TourError(f"{where} must be an object, not {type(data).__name__}")
    _refuse_unknown(data, STEP_KEYS, where)
    for key in ("page", "text"):
        if key not in data:
            raise TourError(f"{where} has no {key!r}")
    page = data["page"]
    if not isinstance(page, str) or page not in pages:
        raise TourError(f"{where}: {str(page)[:60]!r} is not a page of this app")
    text = _text(data["text"], MAX_TEXT, f"{where}.text")
    question = data.get("question")
    return Step(page, text, read_params(data.get("params", {}), f"{where}.params"),
                read_widgets(data.get("widgets", {}), page, f"{where}.widgets"),
                None if question is None else read_question(question, f"{where}.question"))


def read_tour(raw: str | bytes, pages: Collection[str]) -> Tour:
    """A tour from JSON text, every field checked; raises TourError saying what is wrong."""
    if len(raw) > MAX_BYTES:
        raise TourError(f"the file is {len(raw):,} bytes; a tour is at most {MAX_BYTES:,}")
    try:  # size, depth and numbers checked before the parser recurses (ae_core.guard)
        data = parse_json(raw, "the tour", MAX_BYTES, MAX_DEPTH)
    except NotJSONError as error:
        raise TourError(f"not JSON: {error.detail}") from None
    except GuardError as error:
        raise TourError(str(error)) from None
    if not isinstance(data, dict):
        raise TourError(f"a tour is a JSON object, not {type(data).__name__}")
    _refuse_unknown(data, TOUR_KEYS, "tour")
    if data.get("format") != FORMAT:
        raise TourError(f"not a tour: 'format' must be {FORMAT!r}")
    if type(data.get("version")) is not int or data.get("version") != VERSION:  # not true, 1.0
        raise TourError(f"tour version {data.get('version')!r} is not supported (only {VERSION})")
    title = _text(data.get("title", "A tour"), MAX_TITLE, "title")
    steps = data.get("steps")
    if not isinstance(steps, list):
        raise TourError(f"'steps' must be a list, not {type(steps).__name__}")
    if not steps:
        raise TourError("the tour has no steps")
    if len(steps) > MAX_STEPS:
        raise TourError(f"the tour has {len(steps)} steps; at most {MAX_STEPS}")
    return Tour(title, tuple(read_step(step, pages, f"step {number}")
                             for number, step in enumerate(steps, start=1)))


def _step_json(step: Step) -> dict:
    data = {"page": step.page, "params": step.params, "text": step.text}
    if step.widgets:  # only where there are some: a step without reads as in version 1's files
        data["widgets"] = step.widgets
    if step.question is not None:
        question = step.question
        data["question"] = {"text": question.text, "choices": list(question.choices),
                            "answer": question.answer}
        if question.why:
            data["question"]["why"] = question.why
    return data


def tour_json(tour: Tour) -> str:
    """The tour as the JSON that `read_tour` reads back."""
    steps = [_step_json(step) for step in tour.steps]
    return json.dumps({"format": FORMAT, "version": VERSION, "title": tour.title,
                       "steps": steps}, indent=2, ensure_ascii=False) + "\n"
