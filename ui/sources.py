"""Which images the analysis pages can show (the data sources) and their codes, loaded and
encoded once per process (st.cache_resource) and shared by sessions, read-only.

What is done with the codes in the background (UMAP, t-SNE) lives in ui/projections.py.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st
import torch

from ae_core.data import (
    DEFAULT_DATA_ROOT,
    EMBEDDED,
    FASHION_SYSTEM_DIR,
    DataError,
    Dataset,
    available_splits,
    evaluation_set,
    load_dataset,
    shared_test_set_available,
)
from ae_core.latent import EncodedSet, encode_dataset
from ui.models import (
    ActiveModel,
    embedded_digits,
    embedded_images,
    encoded_digits,
    model_cache,
)

SOURCES = {
    "embedded": "Embedded MNIST digits (5,000)",
    "heldout": "Held-out embedded digits (500, never trained on)",
    "mnist-test": "MNIST test set (10,000)",
    "fashion-test": "Fashion-MNIST test set (10,000)",
}
TEST_SETS = {"mnist-test": "mnist", "fashion-test": "fashion-mnist"}  # ae_core.data names


def source_available(source: str) -> bool:
    """Whether `source` can be loaded here, from cheap file checks only."""
    if source in ("embedded", "heldout"):
        return True
    folders = [DEFAULT_DATA_ROOT / TEST_SETS[source], DEFAULT_DATA_ROOT]
    if source == "mnist-test" and shared_test_set_available():
        return True
    if source == "fashion-test":
        folders.insert(0, FASHION_SYSTEM_DIR)
    return any(Path(folder).is_dir() and "test" in available_splits(folder)
               for folder in folders)


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
    raise DataError(f"unknown data source {source!r}: use one of {', '.join(SOURCES)}")


@st.cache_resource(show_spinner=False, max_entries=8)
def source_images(source: str) -> torch.Tensor:
    """(N, 1, 28, 28) floats in [0, 1] of a source, converted once."""
    return embedded_images() if source == "embedded" else load_source(source).float_images()


def _encode_source(source: str, model: ActiveModel) -> EncodedSet:
    dataset = load_source(source)
    return encode_dataset(model.checkpoint.model, source_images(source), dataset.labels)


@model_cache(show_spinner="Encoding the images…", max_entries=16)
def _encoded_source(model_key: str, source: str, _model: ActiveModel) -> EncodedSet:
    return _encode_source(source, _model)


def encoded(model: ActiveModel, source: str) -> EncodedSet:
    """Codes and errors of a source for a model (the embedded digits share ui.models' cache);
    a session model's are kept in its session (ui.models.model_cache), not shared."""
    if source == "embedded":
        return encoded_digits(model.key, model.checkpoint)
    return _encoded_source(model.key, source, model)
