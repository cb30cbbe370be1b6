"""The view in the address bar: a page's state as query parameters, so a link reopens it.

The names below are fixed: links people share, and the tour's saved steps, hold them.

A page calls `from_link(names)` before drawing its widgets: the parameters that came from
outside (a link opened, a tour step, the Back button), each followed once. It checks them with
`int_from_link` / `choice_from_link` / `code_from_link`, which give a good value (or put it
where the widget reads it) and refuse a bad one with a one-line note: the page keeps its
default. After its widgets, the page calls `show(...)` with its state, which the address bar
then holds.

Widgets are not bound with `bind="query-params"`: a bound widget's key becomes the parameter's
name (these names are shared by several pages), a digit is chosen by a picker of several
widgets, a code is no widget at all, and a bound value Streamlit finds invalid is dropped
without a word where a link's reader should be told.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import streamlit as st
import torch

from ae_core.code_text import CodeTextError, code_from_text, code_to_text, restore_unmoved
from ae_core.guard import GuardError, whole_number
from ui import state

MODEL = "model"  # a checkpoint's name (ui.models.model_name), on every page
DIGIT = "digit"  # index into the model's own images, ui.sources.own_source (sliders)
CODE = "code"  # the sliders' code as ae_core.code_text, when moved from the digit's own
FROM = "from"  # sliders: the code a drawing started from (a link cannot carry the drawing)
CLASS = "class"  # the class a conditional model draws on the sliders page
START = "a"  # interpolation: index (into the model's own images) of the path's start
END = "b"  # interpolation: index of the image the path ends at
PATH = "path"  # interpolation method: "linear" or "slerp"
STEPS = "steps"  # interpolation: decoded steps between the two digits
PROJECTION = "proj"  # latent map projection: "umap", "pca" or "tsne"
COLOUR = "color"  # latent map colouring: "label" or "error"
VIEW = "view"  # latent map view: "2" or "3" (dimensions)
MAX_SHOWN = 24  # characters of a refused value echoed in the note


def _written() -> dict[str, str]:
    return st.session_state.setdefault(state.LINK_WRITTEN, {})


def forget_dropped() -> None:
    """Once per run of the whole app, before any page reads its link: forget what this session
    wrote that the address no longer holds. A page change drops the parameters, so values that
    come back later (a tour step, a link) are followed even if they equal old ones."""
    written = _written()
    for name in [name for name, value in written.items() if st.query_params.get(name) != value]:
        del written[name]


def from_link(names: Iterable[str]) -> dict[str, str]:
    """The parameters among `names` this session did not write itself, each returned once."""
    written = _written()
    incoming = {name: st.query_params[name] for name in names
                if name in st.query_params and st.query_params[name] != written.get(name)}
    written.update(incoming)
    return incoming


def ignore(names: Iterable[str]) -> None:
    """Leave these parameters of the link unfollowed (the page's `show` replaces them)."""
    written = _written()
    for name in names:
        if name in st.query_params:
            written[name] = st.query_params[name]


def show(values: Mapping[str, str | None]) -> None:
    """Put the page's state in the address bar; None removes a parameter. Only a change is
    sent to the browser (where ui.copy_link keeps it out of the history's entries)."""
    changed = {name: value for name, value in values.items()
               if value is not None and st.query_params.get(name) != value}
    if changed:
        st.query_params.update(changed)
    for name, value in values.items():
        if value is None and name in st.query_params:
            del st.query_params[name]
    written = _written()
    for name, value in values.items():
        if value is None:
            written.pop(name, None)
        else:
            written[name] = value


def refuse(name: str, value: str, why: str) -> None:
    """One line saying which parameter of the link was not followed, and why."""
    shown = "".join(c for c in value if c.isprintable() and c != "`")
    shown = shown if len(shown) <= MAX_SHOWN else shown[:MAX_SHOWN] + "…"
    st.warning(f"This link's `{name}` (`{shown}`) {why}: showing the default instead.",
               icon=":material/link_off:")


def int_from_link(link: Mapping[str, str], name: str, low: int, high: int) -> int | None:
    """The link's whole number `name` when it is in low..high (else a note and None)."""
    text = link.get(name)
    if text is None:
        return None
    try:  # digits counted before int(): a 5,000-digit text is refused, not a ValueError
        return whole_number(text, low, high, name)
    except GuardError:
        refuse(name, text, f"is not a whole number from {low} to {high:,}")
        return None


def choice_from_link(link: Mapping[str, str], name: str, options: Iterable, key: str) -> None:
    """Set the widget `key` to the option the link names (compared as text), before the widget
    is drawn; a value that is no option gets a note."""
    text = link.get(name)
    if text is None:
        return
    options = list(options)
    for option in options:
        if str(option) == text:
            st.session_state[key] = option
            return
    refuse(name, text, "is not one of " + ", ".join(str(option) for option in options))


def code_from_link(link: Mapping[str, str], start: torch.Tensor) -> torch.Tensor | None:
    """(D,) the link's code for a model whose codes are like `start` (the picked digit's),
    numbers the link left unmoved given back exactly; a malformed code gets a note and None."""
    text = link.get(CODE)
    if text is None:
        return None
    try:
        return restore_unmoved(code_from_text(text, len(start)), start)
    except CodeTextError as error:
        refuse(CODE, text, f"is not a code for this model ({error})")
        return None


def code_param(code: torch.Tensor, start: torch.Tensor | None) -> str | None:
    """What CODE holds for `code` (D,): nothing while it is the digit's own `start` (with no
    `start`, as for a drawing, which no link can name, always the code)."""
    if start is not None and torch.equal(code, start):
        return None
    try:
        return code_to_text(code)
    except CodeTextError:  # beyond float16: the link reopens the digit, not this code
        return None


def chosen(key: str, default):
    """What the widget `key` holds (a link or a tour may have put it there), else `default`:
    the value to give it as its own default (index=/value=). A widget whose script loads after
    a rerun mounts on its own default, not on the session's value (issue 19's race)."""
    return st.session_state.get(key, default)
