"""Which model a session sees: shipped checkpoints (cached, shared, read-only) and the ones
this session trained or uploaded (its own, in session state)."""

from __future__ import annotations

import functools
import inspect
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import streamlit as st
import torch

from ae_core.checkpoint import Checkpoint, list_checkpoints, load_checkpoint
from ae_core.data import Dataset, load_embedded, model_kind
from ae_core.kinds import KINDS, ImageKind
from ae_core.latent import EncodedSet, encode_dataset
from ae_core.onnx_model import PAIR_SUFFIX, list_onnx_pairs, load_onnx_paths
from ui import state, url_state
from ui.plain_text import inert

SHIPPED_PREFIX = "shipped: "
SAVED_PREFIX = "saved: "
SESSION_PREFIX = "session: "
SESSION_KEY_PREFIX = "session-"  # the cache identity of a session model: session-<uuid>
SESSION_RESULTS_KEPT = 24  # results derived from session models, per session (a few a page)
T = TypeVar("T")


@dataclass
class ActiveModel:
    label: str  # shown in the picker
    key: str  # cache identity: path and mtime, or a per-session id
    checkpoint: Checkpoint

    @functools.cached_property
    def kind(self) -> ImageKind:
        """The kind of images the model knows (ae_core.kinds), from its training config."""
        return model_kind(self.checkpoint.train_config,
                          self.checkpoint.info.get("class_names"))

    @functools.cached_property
    def source(self) -> str:
        """The image set its pages show it: its kind's home set, the embedded digits where
        that is not on this machine (ui.sources.own_source)."""
        from ui.sources import source_available  # ui.sources builds on this module

        if self.kind.name not in KINDS:  # one's own images: a temporary folder may go any time
            return self.kind.home if Path(self.kind.name).exists() else "embedded"
        return self.kind.home if source_available(self.kind.home) else "embedded"

    @property
    def images(self) -> Dataset:
        """The images of `source`, loaded once per process."""
        from ui.sources import own_dataset

        return own_dataset(self)

    @property
    def codes(self) -> EncodedSet:
        """The model's codes of `images`, encoded once (ui.sources.encoded)."""
        from ui.sources import own_codes

        return own_codes(self)


@st.cache_resource(show_spinner=False)
def load_shipped(path: str, mtime: float) -> Checkpoint:
    """A shipped checkpoint, loaded once for all sessions (mtime in the key: a new file reloads).

    Shared: pages read it and never train it in place.
    """
    if path.endswith(PAIR_SUFFIX):  # an ONNX pair kept from the sidebar (ui/onnx_upload.py)
        return load_onnx_paths(path)
    return load_checkpoint(path)


@st.cache_resource(show_spinner=False)
def embedded_digits() -> Dataset:
    """The 5,000 embedded MNIST digits, loaded once for all sessions."""
    return load_embedded()


@st.cache_resource(show_spinner=False)
def embedded_images() -> torch.Tensor:
    """(5000, 1, 28, 28) floats in [0, 1] of the embedded digits, converted once."""
    return embedded_digits().float_images()


def is_session_key(model_key: str) -> bool:
    """Whether a model key names a model of one session (trained or uploaded), not a file."""
    return model_key.startswith(SESSION_KEY_PREFIX)


def session_result(key: tuple, compute: Callable[[], T]) -> T:
    """What `compute()` gives, kept in this session's state under `key` (the latest
    SESSION_RESULTS_KEPT keys): for results derived from a session model, which no other
    session can ask for. In a shared cache they would outlive the session and push the shipped
    models' entries out; here they go when the session goes."""
    results = st.session_state.setdefault(state.SESSION_RESULTS, OrderedDict())
    if key in results:
        results.move_to_end(key)
        return results[key]
    value = results[key] = compute()
    while len(results) > SESSION_RESULTS_KEPT:
        results.popitem(last=False)
    return value


def model_cache(shared_cache=st.cache_resource, **cache_options):
    """Cache a function whose first argument is a model key (or a tuple of them): in
    `shared_cache` (with `cache_options`) for stored models, which every session may ask for;
    in the session's own state (`session_result`) when a session model is among them, which
    only its session can ask for, so that what it gave goes when the session goes instead of
    filling the shared cache. Arguments whose names start with "_" are left out of the key, as
    Streamlit's caches do."""

    def decorate(function: Callable[..., T]) -> Callable[..., T]:
        shared = shared_cache(**cache_options)(function)
        signature = inspect.signature(function)
        spinner = cache_options.get("show_spinner")

        @functools.wraps(function)
        def cached(model_key: str | tuple[str, ...], *args, **kwargs) -> T:
            keys = model_key if isinstance(model_key, tuple) else (model_key,)
            if not any(is_session_key(key) for key in keys):
                return shared(model_key, *args, **kwargs)
            bound = signature.bind(model_key, *args, **kwargs).arguments
            key = (function.__qualname__, *(repr(value) for name, value in bound.items()
                                            if not name.startswith("_")))

            def compute() -> T:
                if isinstance(spinner, str):
                    with st.spinner(spinner):
                        return function(model_key, *args, **kwargs)
                return function(model_key, *args, **kwargs)

            return session_result(key, compute)

        return cached

    return decorate


def _encode_embedded(checkpoint: Checkpoint) -> EncodedSet:
    return encode_dataset(checkpoint.model, embedded_images(), embedded_digits().labels)


@model_cache(show_spinner="Encoding the digits…", max_entries=16)
def encoded_digits(model_key: str, _checkpoint: Checkpoint) -> EncodedSet:
    """Codes and errors of the embedded digits for one model, keyed by its identity: once for
    all sessions for a stored model, in the session's own state for a session model."""
    return _encode_embedded(_checkpoint)


def stored_models() -> dict[str, tuple[str, float]]:
    """Picker label -> (path, mtime) of every checkpoint in the checkpoints folder, then of
    every model saved from the Train page. One look at each folder's own time per call: the
    listing is read again only when a file came, went or was replaced there."""
    return {prefix + name: entry
            for prefix, folder in ((SHIPPED_PREFIX, state.CHECKPOINT_DIR),
                                   (SAVED_PREFIX, state.SAVED_DIR))
            for name, entry in _listing(str(folder), _folder_time(folder)).items()}


def _folder_time(folder: Path) -> int | None:
    try:
        return folder.stat().st_mtime_ns
    except OSError:
        return None


@st.cache_resource(show_spinner=False, max_entries=16)
def _listing(folder: str, folder_time: int | None) -> dict[str, tuple[str, float]]:
    """Name -> (path, mtime) of the checkpoints in `folder` as it was at `folder_time`."""
    return {path.name.removesuffix(PAIR_SUFFIX).removesuffix(".safetensors"):
            (str(path), path.stat().st_mtime)
            for path in [*list_checkpoints(folder), *list_onnx_pairs(folder)]}


def session_models() -> dict[str, Checkpoint]:
    return st.session_state.setdefault(state.SESSION_MODELS, {})


def add_session_model(name: str, checkpoint: Checkpoint) -> str:
    """Keep a trained or uploaded model in this session and make it the active one."""
    label = SESSION_PREFIX + name
    checkpoint.info["session_key"] = f"{SESSION_KEY_PREFIX}{uuid.uuid4().hex}"
    session_models()[label] = checkpoint
    # The picker may already be drawn in this run, and Streamlit refuses a new value for a
    # drawn widget: the label waits here until `active_model` runs before the next picker.
    st.session_state[state.PENDING_ACTIVE_MODEL] = label
    return label


def model_labels() -> list[str]:
    return [*stored_models(), *session_models()]


def default_label(labels: list[str]) -> str | None:
    preferred = SHIPPED_PREFIX + state.DEFAULT_CHECKPOINT
    return preferred if preferred in labels else (labels[0] if labels else None)


def resolve_active_model() -> ActiveModel | None:
    """The model every page shows in this run, decided once, before anything is drawn: a model
    just trained, uploaded or stepped to by a tour (pending) first, then one a link names, then
    the picker's choice, then the default. The only place that writes the active label; pages
    get what it decided through `require_model()`. A link naming no model here gets a note (on
    the page, above its title) and its code is not followed."""
    url_state.forget_dropped()
    labels = model_labels()
    label = st.session_state.get(state.ACTIVE_MODEL)
    name = url_state.from_link([url_state.MODEL]).get(url_state.MODEL)
    if name is not None:
        linked = label_for_name(name)
        if linked is None:
            url_state.refuse(url_state.MODEL, name, "is not a model here")
            url_state.ignore([url_state.CODE, url_state.FROM])
        label = linked or label
    pending = st.session_state.pop(state.PENDING_ACTIVE_MODEL, None)
    if pending in labels:
        label = pending
    if label not in labels:
        label = default_label(labels)
    if st.session_state.get(state.ACTIVE_MODEL) != label:
        st.session_state[state.ACTIVE_MODEL] = label
    model = None if label is None else model_by_label(label)
    st.session_state[state.RESOLVED_MODEL] = model
    return model


def active_model() -> ActiveModel | None:
    """The model this session looks at in this run (resolve_active_model's answer), or None
    when there is none at all."""
    if state.RESOLVED_MODEL not in st.session_state:  # a script run without app.py
        return resolve_active_model()
    return st.session_state[state.RESOLVED_MODEL]


def model_name(label: str) -> str:
    """A model's name in a link: its checkpoint's name, without the picker's prefix."""
    return label.split(": ", 1)[-1]


def label_for_name(name: str) -> str | None:
    """The picker label of the model a link names: shipped first, then saved, then this
    session's; None when there is none of that name."""
    labels = model_labels()
    for prefix in (SHIPPED_PREFIX, SAVED_PREFIX, SESSION_PREFIX):
        if prefix + name in labels:
            return prefix + name
    return None


def model_by_label(label: str) -> ActiveModel | None:
    """A shipped, saved or session model by its picker label, without making it active."""
    sessions = session_models()
    if label in sessions:
        return ActiveModel(label, sessions[label].info["session_key"], sessions[label])
    stored = stored_models()
    if label in stored:
        path, mtime = stored[label]
        return ActiveModel(label, f"{path}@{mtime}", load_shipped(path, mtime))
    return None


def require_model() -> ActiveModel:
    """The active model resolved for this run, or a message and a stop when there is none."""
    model = active_model()
    if model is None:
        st.info("No model yet: train one on the **Train** page or upload a checkpoint in the "
                "sidebar.")
        st.stop()
    return model


def missing_images_note(model: ActiveModel | None) -> None:
    """One line above the page where the model's own images (a path it was trained on) are
    not on this machine: it names its classes (recorded in its checkpoint) and what the pages
    show it instead."""
    if model is None or model.kind.name in KINDS or model.source in [
            image_set.key for image_set in model.kind.sets]:
        return
    st.caption(inert(f"The images {model_name(model.label)} was trained on "
                     f"({model.kind.title}: {', '.join(model.kind.class_names)}) are not here: "
                     f"the pages show it the embedded digits."))
