"""Which images the analysis pages can show (the data sources) and their codes, loaded and
encoded once per process (st.cache_resource) and shared by sessions, read-only.

What is done with the codes in the background (UMAP, t-SNE) lives in ui/projections.py.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

import streamlit as st
import torch

from ae_core.data import (
    DEFAULT_DATA_ROOT,
    EMBEDDED,
    FASHION_SYSTEM_DIR,
    SPLITS,
    DataError,
    Dataset,
    available_splits,
    dataset_kind,
    evaluation_set,
    load_dataset,
    load_full,
    shared_test_set_available,
)
from ae_core.latent import EncodedSet, encode_dataset
from ui.models import (
    ActiveModel,
    embedded_digits,
    embedded_images,
    encoded_digits,
    is_session_key,
    session_result,
)

SOURCES = {
    "embedded": "Embedded MNIST digits (5,000)",
    "heldout": "Held-out embedded digits (500, never trained on)",
    "mnist-test": "MNIST test set (10,000)",
    "fashion-test": "Fashion-MNIST test set (10,000)",
    "mnist-all": "MNIST, all 70,000 (train + test)",
    "fashion-all": "Fashion-MNIST, all 70,000 (train + test)",
}
TEST_SETS = {"mnist-test": "mnist", "fashion-test": "fashion-mnist"}  # ae_core.data names
FULL_SETS = {"mnist-all": "mnist", "fashion-all": "fashion-mnist"}
# The images a model of each kind (ae_core.data.dataset_kind of its training data) is shown
# first, and the test set of the other kind: its out-of-distribution images.
HOME_SOURCES = {"mnist": "embedded", "fashion-mnist": "fashion-test"}
TEST_SOURCES = {"mnist": "mnist-test", "fashion-mnist": "fashion-test"}
NORMAL_SOURCES = {"mnist": ("heldout", "mnist-test"), "fashion-mnist": ("fashion-test",)}
NOUNS = {"mnist": "digits", "fashion-mnist": "clothes"}  # what a page calls a kind of images
# The TrainConfig.dataset a page trains a quick model of each kind on.
TRAIN_SETS = {"mnist": "mnist-embedded", "fashion-mnist": "fashion-mnist"}
ENCODINGS_KEPT = 16  # encoded sources kept for the stored models (a 70,000 x 32 set: 9 MB)


def source_available(source: str) -> bool:
    """Whether `source` can be loaded here, from cheap file checks only."""
    if source in ("embedded", "heldout"):
        return True
    name = TEST_SETS.get(source) or FULL_SETS[source]
    needed = ("test",) if source in TEST_SETS else SPLITS
    folders = [DEFAULT_DATA_ROOT / name, DEFAULT_DATA_ROOT]
    if name == "mnist" and source in TEST_SETS and shared_test_set_available():
        return True
    if name == "fashion-mnist":
        folders.insert(0, FASHION_SYSTEM_DIR)
    return any(Path(folder).is_dir() and set(needed) <= set(available_splits(folder))
               for folder in folders)


def model_kind(model: ActiveModel) -> str:
    """"fashion-mnist" for a model trained on Fashion-MNIST, else "mnist"."""
    config = model.checkpoint.train_config
    return dataset_kind(config.dataset) if config is not None else "mnist"


def home_first(model: ActiveModel, sources: tuple[str, ...]) -> list[str]:
    """The available `sources`, the model's own kind of images first (Fashion-MNIST's test set
    for a Fashion-MNIST model, the embedded digits for a digit model)."""
    home = HOME_SOURCES[model_kind(model)]
    ordered = sorted(sources, key=lambda source: source != home)
    return available_sources(tuple(ordered))


def own_source(model: ActiveModel) -> str:
    """The images every page shows a model: its own kind (Fashion-MNIST's test set for a
    Fashion-MNIST model, the embedded digits for a digit model), the embedded digits where
    its own are not on this machine. Page links' indices (`digit`, `a`, `b`) index this set."""
    home = HOME_SOURCES[model_kind(model)]
    return home if source_available(home) else "embedded"


def own_dataset(model: ActiveModel) -> Dataset:
    return load_source(own_source(model))


def own_images(model: ActiveModel) -> torch.Tensor:
    """(N, 1, 28, 28) floats in [0, 1] of own_source(model)."""
    return source_images(own_source(model))


def own_codes(model: ActiveModel) -> EncodedSet:
    """Codes and errors of own_source(model), encoded once (see `encoded`)."""
    return encoded(model, own_source(model))


def own_noun(model: ActiveModel) -> str:
    """"digits" or "clothes": what the images of own_source(model) are."""
    return NOUNS[own_dataset(model).kind]


def normal_sources(model: ActiveModel) -> list[str]:
    """The available sources of the model's own kind of images that it never trained on."""
    return available_sources(NORMAL_SOURCES[model_kind(model)])


def other_test_source(model: ActiveModel) -> str:
    """The test set of the kind of images the model never saw: its out-of-distribution set."""
    kind = model_kind(model)
    return next(source for other, source in TEST_SOURCES.items() if other != kind)


def available_sources(sources: tuple[str, ...]) -> list[str]:
    return [source for source in sources if source_available(source)]


@st.cache_resource(show_spinner="Loading the images…")
def load_source(source: str) -> Dataset:
    """A data source by its key in SOURCES, loaded once for all sessions."""
    if source == "embedded":
        return embedded_digits()
    if source == "heldout":
        return evaluation_set(EMBEDDED)
    if source in TEST_SETS:
        return load_dataset(TEST_SETS[source], "test")
    if source in FULL_SETS:
        return load_full(FULL_SETS[source])
    raise DataError(f"unknown data source {source!r}: use one of {', '.join(SOURCES)}")


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
