"""Which images the analysis pages can show (the data sources) and their codes, loaded and
encoded once per process (st.cache_resource) and shared by sessions, read-only.

What is done with the codes in the background (UMAP, t-SNE) lives in ui/projections.py.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable

import streamlit as st
import torch

from ae_core.data import Dataset, load_set, set_available
from ae_core.kinds import DEFAULT_KIND, KINDS, ImageKind, all_sets, get_kind, image_set, say
from ae_core.latent import EncodedSet, encode_dataset
from ui.models import (
    ActiveModel,
    embedded_digits,
    embedded_images,
    encoded_digits,
    is_session_key,
    session_result,
)

# Every registered kind's image sets (ae_core.kinds), key -> label; a kind made from one's own
# images adds its sets to `set_label`, not here.
SOURCES = {images.key: images.label for images in all_sets()}
ENCODINGS_KEPT = 16  # encoded sources kept for the stored models (a 70,000 x 32 set: 9 MB)


@st.cache_data(show_spinner=False, ttl=600)
def source_available(source: str) -> bool:
    """Whether `source` can be loaded here, from cheap file checks only, made once per ten
    minutes (not on every rerun of every page)."""
    return set_available(source)


def set_label(source: str) -> str:
    """How a page names the image set `source`, one of one's own images' too."""
    return SOURCES.get(source) or image_set(source)[1].label


def model_kind(model: ActiveModel) -> str:
    """The name of the kind of images the model knows (ae_core.kinds)."""
    return model.kind.name


def source_kind(source: str) -> ImageKind:
    """The kind of images of the image set `source`."""
    return image_set(source)[0]


def home_first(model: ActiveModel, sources: tuple[str, ...] | None = None) -> list[str]:
    """The available `sources` (every registered kind's sets by default), the model's own
    kind's first, its home set before them."""
    sources = tuple(SOURCES) if sources is None else sources
    own = [images.key for images in model.kind.sets]
    if model.kind.name not in KINDS:  # one's own images: their sets are in no list
        sources = (*(key for key in own if key not in sources), *sources)
    return available_sources(tuple(sorted(sources, key=lambda source: (
        source != model.kind.home, source not in own))))


def own_source(model: ActiveModel) -> str:
    """The images every page shows a model: its kind's home set (Fashion-MNIST's test set for
    a Fashion-MNIST model, the embedded digits for a digit model), the embedded digits where
    its own are not on this machine. Page links' indices (`digit`, `a`, `b`) index this set."""
    return model.source


def own_dataset(model: ActiveModel) -> Dataset:
    return load_source(own_source(model))


def own_images(model: ActiveModel) -> torch.Tensor:
    """(N, 1, 28, 28) floats in [0, 1] of own_source(model)."""
    return source_images(own_source(model))


def own_codes(model: ActiveModel) -> EncodedSet:
    """Codes and errors of own_source(model), encoded once (see `encoded`)."""
    return encoded(model, own_source(model))


def shown_kind(model: ActiveModel) -> ImageKind:
    """The kind of the images the pages show the model (its own, or digits where its own are
    not on this machine): where a page's words for them come from."""
    return source_kind(own_source(model))


def wording(model: ActiveModel | None) -> Callable[[str], str]:
    """`say` for the images the pages show `model` (digits when there is no model)."""
    kind = shown_kind(model) if model is not None else get_kind(DEFAULT_KIND)
    return lambda text: say(text, kind)


def own_noun(model: ActiveModel) -> str:
    """"digits", "clothes", …: what the images of own_source(model) are."""
    return shown_kind(model).plural


def normal_sources(model: ActiveModel) -> list[str]:
    """The available sets of the model's own kind of images that it never trained on; where
    none is on this machine, those of the images the pages show it instead (shown_kind)."""
    return (available_sources(model.kind.held_out)
            or available_sources(shown_kind(model).held_out))


def other_test_source(model: ActiveModel) -> str:
    """The test set of the kind of images the model never saw: its out-of-distribution set."""
    partner = model.kind.partner or next(name for name in KINDS if name != model.kind.name)
    return get_kind(partner).test


def available_sources(sources: tuple[str, ...]) -> list[str]:
    return [source for source in sources if source_available(source)]


@st.cache_resource(show_spinner="Loading the images…")
def load_source(source: str) -> Dataset:
    """An image set by its key (ae_core.kinds), loaded once for all sessions."""
    if source == "embedded":
        return embedded_digits()
    return load_set(source)


@st.cache_resource(show_spinner=False, max_entries=8)
def source_images(source: str) -> torch.Tensor:
    """(N, 1, 28, 28) floats in [0, 1] of a source, converted once."""
    return embedded_images() if source == "embedded" else load_source(source).float_images()


def _encode_source(source: str, model: ActiveModel,
                   progress: Callable[[float], None] | None) -> EncodedSet:
    """In batches from the uint8 images: 70,000 never sit in memory as floats."""
    dataset = load_source(source)
    return encode_dataset(model.checkpoint.model, dataset.images, dataset.labels,
                          progress=progress)


class _EncodingStore:
    """Process-wide (model key, source) -> EncodedSet, the latest ENCODINGS_KEPT kept. Not an
    st.cache: a cached function may not draw on the caller's progress bar."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sets: OrderedDict[tuple[str, str], EncodedSet] = OrderedDict()

    def get(self, key: tuple[str, str], compute: Callable[[], EncodedSet]) -> EncodedSet:
        with self._lock:
            if key in self._sets:
                self._sets.move_to_end(key)
                return self._sets[key]
        value = compute()  # outside the lock: another session's lookup need not wait
        with self._lock:
            self._sets[key] = value
            while len(self._sets) > ENCODINGS_KEPT:
                self._sets.popitem(last=False)
        return value


@st.cache_resource(show_spinner=False)
def _encodings() -> _EncodingStore:
    return _EncodingStore()


def encoded(model: ActiveModel, source: str,
            progress: Callable[[float], None] | None = None) -> EncodedSet:
    """Codes and errors of a source for a model, encoded in batches (`progress(fraction)`
    after each, only when it is computed): shared by all sessions for a stored model (the
    embedded digits through ui.models' cache), kept in its session for a session model."""
    if source == "embedded":
        return encoded_digits(model.key, model.checkpoint)

    def compute() -> EncodedSet:
        return _encode_source(source, model, progress)

    if is_session_key(model.key):
        return session_result(("encoded", model.key, source), compute)
    return _encodings().get((model.key, source), compute)
