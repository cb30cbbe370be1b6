"""Widgets and cached latent helpers shared by the sliders and interpolation pages."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import streamlit as st
import torch

from ae_core.checkpoint import Checkpoint
from ae_core.data import Dataset
from ae_core.figures import grid_png, image_png
from ae_core.latent import (
    code_ranges,
    decode_codes,
    dimension_importance,
    encode_dataset,
    manifold_grid,
)
from ui import state
from ui.models import ActiveModel, model_cache
from ui.plain_text import inert
from ui.sources import (
    encoded,
    load_source,
    own_codes,
    own_dataset,
    own_images,
    own_source,
    say,
    source_images,
)

PICK_MODES = ("By class", "By index", "Random")
DRAWING_MODE = "Your drawing"  # offered by digit_picker once the Draw page sent a drawing
DRAWING = -1  # what digit_picker returns for the drawing: never index a dataset with it
Result = TypeVar("Result")


@dataclass(frozen=True)
class Drawing:
    """A digit drawn or uploaded on the Draw page, kept in state.DRAWN_DIGIT."""

    image: torch.Tensor  # (1, 28, 28) in [0, 1], in MNIST's form (ae_core.drawing)
    label: int  # the class the Draw page guessed: what a conditional model is told
    version: int  # a new drawing, a new number: pages start over from it


@dataclass(frozen=True)
class PickedDigit:
    """What a page needs about the digit a picker chose, dataset digit or drawing alike."""

    image: torch.Tensor  # (1, 28, 28)
    code: torch.Tensor  # (D,) the model's code of it
    label: int
    origin: str  # names the digit: a dataset index or "drawing-<version>"


def send_to_picker(prefix: str, index: int) -> None:
    """Make the picker `prefix` show dataset digit `index`, or the drawing for DRAWING (call
    before it is drawn)."""
    if index == DRAWING:
        st.session_state[f"{prefix}_mode"] = DRAWING_MODE
        return
    st.session_state[f"{prefix}_mode"] = "By index"
    st.session_state[f"{prefix}_index"] = int(index)


def picked_digit(index: int, model: ActiveModel) -> PickedDigit:
    """The image, code and label of what digit_picker returned: an index into the model's own
    images (ui.sources.own_source), or DRAWING."""
    drawing = st.session_state.get(state.DRAWN_DIGIT)
    if index == DRAWING and drawing is not None:
        label = torch.tensor([drawing.label])
        code = encode_dataset(model.checkpoint.model, drawing.image.unsqueeze(0), label).codes[0]
        return PickedDigit(drawing.image, code, drawing.label, f"drawing-{drawing.version}")
    index = max(0, index)
    return PickedDigit(own_images(model)[index], own_codes(model).codes[index],
                       int(own_dataset(model).labels[index]), str(index))


def digit_picker(prefix: str, dataset: Dataset, label: str = "Digit",
                 default_class: int = 0) -> int:
    """A digit of `dataset` chosen by class, by index or at random; returns its index, or
    DRAWING when the user picks their drawing (picked_digit turns either into a digit).

    Keys start with `prefix` (the page's name), so two pickers can share a page.
    """
    drawing = st.session_state.get(state.DRAWN_DIGIT)
    modes = (*PICK_MODES, DRAWING_MODE) if drawing is not None else PICK_MODES
    if st.session_state.get(f"{prefix}_mode") not in modes:
        st.session_state[f"{prefix}_mode"] = PICK_MODES[0]
    # Each widget gets the session's value as its own default too: one whose script mounts
    # after a rerun shows its default (a link's or a sent digit would be lost; issue 19).
    mode = st.radio(label, modes, horizontal=True, key=f"{prefix}_mode",
                    index=modes.index(st.session_state[f"{prefix}_mode"]))
    if mode == DRAWING_MODE:
        st.image(image_png(drawing.image, scale=3), output_format="PNG",
                 caption=say("The digit you sent from the Draw page", dataset.image_kind))
        return DRAWING
    if mode == "By index":  # kept in range: another model's images may be fewer
        index_key = f"{prefix}_index"
        st.session_state[index_key] = min(int(st.session_state.get(index_key, 0)),
                                          len(dataset) - 1)
        return int(st.number_input("Index in the dataset", 0, len(dataset) - 1,
                                   value=st.session_state[index_key], key=index_key))
    if mode == "Random":
        random_key = f"{prefix}_random"
        if st.session_state.get(random_key, len(dataset)) >= len(dataset):
            _reroll(random_key, len(dataset))
        st.button(say("Another random digit", dataset.image_kind), key=f"{prefix}_reroll",
                  on_click=_reroll,
                  args=(random_key, len(dataset)), icon=":material/casino:")
        return int(st.session_state[random_key])
    class_key, example_key = f"{prefix}_class", f"{prefix}_example"
    st.session_state.setdefault(class_key, default_class % len(dataset.class_names))
    st.session_state.setdefault(example_key, 0)
    left, right = st.columns(2)
    if st.session_state[class_key] >= len(dataset.class_names):  # the previous kind had more
        st.session_state[class_key] = default_class % len(dataset.class_names)
    refresh_with(class_key, dataset.class_names)
    digit_class = left.selectbox("Class", range(len(dataset.class_names)), key=class_key,
                                 index=st.session_state[class_key],
                                 format_func=lambda c: dataset.class_names[c])
    members = torch.nonzero(dataset.labels == digit_class).flatten()
    if len(members) == 0:
        st.warning(
            f"No {inert(dataset.class_names[digit_class])} in {inert(dataset.name)}: "
            f"showing {inert(dataset.class_names[0])}.")
        return 0
    if st.session_state[example_key] > len(members) - 1:  # the previous class had more
        st.session_state[example_key] = len(members) - 1
    example = right.number_input(f"Example (of {len(members)})", 0, len(members) - 1,
                                 value=st.session_state[example_key], key=example_key)
    return int(members[int(example)])


def refresh_with(key: str, names: tuple[str, ...]) -> None:
    """Before the keyed box `key` is drawn: when the names its options show change (a model
    of another kind of images), send its value again, so the browser shows the new name and
    not the old kind's ("0" among clothes)."""
    shown = f"{key}_names"
    if st.session_state.get(shown) != names:
        st.session_state[shown] = names
        if key in st.session_state:
            st.session_state[key] = st.session_state[key]


def _reroll(key: str, count: int) -> None:
    st.session_state[key] = random.randrange(count)


def guarded(what: str, call: Callable[..., Result], *args, **kwargs) -> Result | None:
    """`call(*args)`, or None and a clear message when this model family cannot do it.

    Pages run every family through the generic interface; one that lacks a piece (no prior,
    an unusual code) loses that piece of the page, never the page.
    """
    try:
        return call(*args, **kwargs)
    except Exception as error:  # any family's own failure; streamlit's control flow is not one
        st.error(f"{what} failed for this model: {error}")
        return None


def labels_for(checkpoint: Checkpoint, label: int | None, count: int) -> torch.Tensor | None:
    """(count,) labels to decode with when the model is conditional, else None."""
    if not checkpoint.model.is_conditional or label is None:
        return None
    return torch.full((count,), int(label), dtype=torch.long)


@dataclass
class LatentSummary:
    """What the sliders need about a model's codes of its own images."""

    low: torch.Tensor  # (D,) slider bounds from the real codes' spread
    high: torch.Tensor  # (D,)
    importance: torch.Tensor  # (D,) KL (VAE) or variance of each dimension
    order: list[int]  # dimensions, most important first
    importance_kind: str  # "KL" or "variance"


def latent_summary(model: ActiveModel) -> LatentSummary:
    """Ranges and importance of every code dimension of one model, over its own images."""
    return _latent_summary(model.key, own_source(model), model)


@model_cache(show_spinner="Measuring the code dimensions…", max_entries=16)
def _latent_summary(model_key: str, source: str, _model: ActiveModel) -> LatentSummary:
    """Shared, read-only; `source` (own_source) is in the key: it names the images measured."""
    codes = encoded(_model, source).codes
    low, high = code_ranges(codes)
    kind = "KL" if _model.checkpoint.model.is_variational else "variance"
    importance = dimension_importance(_model.checkpoint.model, source_images(source),
                                      load_source(source).labels, codes)
    order = torch.argsort(importance, descending=True).tolist()
    return LatentSummary(low, high, importance, order, kind)


@model_cache(st.cache_data, show_spinner="Decoding the manifold…", max_entries=32)
def manifold_png(model_key: str, _checkpoint: Checkpoint, low: tuple[float, float],
                 high: tuple[float, float], size: int, label: int | None) -> bytes:
    """PNG of a 2-D latent's decoded grid (ae_core.latent.manifold_grid), rows high y first."""
    codes = manifold_grid(low, high, size)
    images = decode_codes(_checkpoint.model, codes, labels_for(_checkpoint, label, len(codes)))
    return grid_png(images, columns=size, scale=2)
