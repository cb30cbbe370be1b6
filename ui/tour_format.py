"""A guided tour as a JSON file: its format, reading it with validation, writing it back.

No streamlit here: a tour is data, read from the repository or from a teacher's upload, and
`read_tour` refuses anything odd with a `TourError` whose message is one line for the page.

    {"format": "latent-lab-tour", "version": 1, "title": "The autoencoder story",
     "steps": [{"page": "app_pages/sliders.py", "params": {"model": "ae_32"},
                "text": "Drag one slider at a time ..."}, ...]}

A step is a saved view: a page of the app, the query parameters that page reads (model, digit,
code, a, b, path, proj, color, ...), and a sentence of explanation.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection
from dataclasses import dataclass, field

from ae_core.guard import GuardError, NotJSONError, parse_json

FORMAT = "latent-lab-tour"
VERSION = 1
MAX_BYTES = 64_000  # an upload larger than this is refused before it is parsed
MAX_DEPTH = 4  # a tour's JSON nests tour > steps > step > params
MAX_STEPS = 40
MAX_TEXT = 400  # characters of a step's sentence
MAX_TITLE = 100
MAX_PARAMS = 12  # query parameters per step
MAX_VALUE = 200  # characters of a parameter's value (a 32-number code is 86)
PARAM_NAME = re.compile(r"[a-z][a-z0-9_]{0,19}")
RESERVED_PARAMS = ("present",)  # set by classroom mode itself, never saved in a step
TOUR_KEYS = ("format", "version", "title", "steps")
STEP_KEYS = ("page", "params", "text")


class TourError(ValueError):
    """A tour file that cannot be used; the message is one line, fit to show as it is."""


@dataclass(frozen=True)
class Step:
    page: str  # a page's file, as app.py names it: "app_pages/sliders.py"
    text: str  # the sentence shown with the step
    params: dict[str, str] = field(default_factory=dict)  # the query parameters of the view


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
    return Step(page, text, read_params(data.get("params", {}), f"{where}.params"))


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


def tour_json(tour: Tour) -> str:
    """The tour as the JSON that `read_tour` reads back."""
    steps = [{"page": step.page, "params": step.params, "text": step.text} for step in tour.steps]
    return json.dumps({"format": FORMAT, "version": VERSION, "title": tour.title,
                       "steps": steps}, indent=2, ensure_ascii=False) + "\n"
