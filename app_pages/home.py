"""Landing page: what an autoencoder does, what each page lets you do (a card with a live
picture from the active model), a tour to start with, and the shipped models in a line each."""

from __future__ import annotations

import re
from pathlib import Path

import streamlit as st
import torch

from ae_core.checkpoint import list_checkpoints, read_metadata
from ae_core.figures import grid_png
from ae_core.previews import page_previews
from ae_core.projection import precomputed_key, precomputed_projection, project
from ae_core.registry import families
from ui import state
from ui.lecture import lecture_pictures
from ui.models import (
    SHIPPED_PREFIX,
    ActiveModel,
    active_model,
    model_cache,
    require_model,
)
from ui.plain_text import inert
from ui.precomputed import bytes_from_json, bytes_to_json, stored
from ui.sources import (
    encoded,
    load_source,
    own_dataset,
    own_images,
    own_noun,
    own_source,
    set_label,
    source_images,
    wording,
)
from ui.tour import start_tour

# One card per page, in app.py's order: (page, preview in ae_core.previews, one sentence).
CARDS = (
    ("app_pages/train.py", "train",
     "Train your own autoencoder in the browser and watch its loss fall."),
    ("app_pages/sliders.py", "sliders",
     "Move one number of the code and watch the digit change with it (here: the "
     "number that changes it most)."),
    ("app_pages/interpolate.py", "interpolate",
     "Walk from one digit's code to another's and decode every step."),
    ("app_pages/draw.py", "draw",
     "Draw a digit with the mouse and see what the model reads in it (bottom)."),
    ("app_pages/samples.py", "samples",
     "Decode codes nobody wrote: new digits from the model's prior."),
    ("app_pages/ae_vs_vae.py", "ae_vs_vae",
     "Halfway between two digits: the code's midpoint (top) against a pixel blend."),
    ("app_pages/few_labels.py", "few_labels",
     "A few labelled digits like these: does what the model learned without labels help?"),
    ("app_pages/latent_map.py", "latent_map",
     "Every digit as a point, in 2-D or 3-D: alike digits land together."),
    ("app_pages/denoise.py", "denoise",
     "Add noise to digits (top) and see how much of it the model cleans away."),
    ("app_pages/anomaly.py", "anomaly",
     "Flag what the model cannot rebuild: its strangest digits, shown here."),
    ("app_pages/bottleneck.py", "bottleneck",
     "PCA (top) against the model (bottom), both keeping the same number of numbers."),
)
CARDS_PER_ROW = 5


@model_cache(st.cache_data, show_spinner="Drawing the previews…", max_entries=16)
def _previews(model_key: str, source: str, _model: ActiveModel) -> dict[str, bytes]:
    """The cards' pictures for one model, drawn once from its own images (`source`)."""
    return stored("home_previews", (source,), lambda: _draw_previews(source, _model),
                  bytes_to_json, bytes_from_json, model_keys=(model_key,))


def _draw_previews(source: str, _model: ActiveModel) -> dict[str, bytes]:
    checkpoint = _model.checkpoint
    codes = encoded(_model, source)
    key = precomputed_key("umap", source)
    coords = precomputed_projection(checkpoint.extras, key, len(codes.codes))
    if coords is None:  # no stored map: PCA (or the code itself) is instant
        coords = project(codes.codes, "pca").coords
    history = (checkpoint.info.get("history") or {}).get("train_loss") or []
    return page_previews(checkpoint.model, source_images(source), load_source(source).labels,
                         codes.codes,
                         codes.errors, coords, history)


@st.cache_data(show_spinner=False)
def _shipped_lines(listing: tuple[tuple[str, float], ...]) -> list[tuple[str, str]]:
    """(name, one line) per shipped checkpoint, from its metadata alone (no model is built)."""
    described = families()
    lines = []
    for path, _ in listing:
        metadata = read_metadata(path)
        config, info = metadata.get("model_config") or {}, metadata.get("info") or {}
        family = config.get("family", "?")
        kind = getattr(described.get(family), "description", family).split(":")[0].rstrip(".")
        what = info.get("description", "").rstrip(".")
        parts = [what] if what else []
        if not what.lower().startswith(kind.lower().split()[0]):
            parts.insert(0, kind)  # the family, unless the description starts with it
        if config.get("latent_dim") and not re.search(r"\bcode\b|-D\b|\blatent\b", what):
            parts.append(f"a {config['latent_dim']}-number code")
        line = " · ".join(parts) + "."
        lines.append((Path(path).stem, line))
    return lines


st.title("Latent Lab")
say = wording(active_model())  # the words for the active model's kind of images
st.markdown(say(
    "An **autoencoder** squeezes each 28×28 digit (784 numbers) through a narrow "
    "**bottleneck** (its *latent code*) and rebuilds the digit from that code alone. "
    "What survives the squeeze is what the model learned matters. Pick a model in the "
    "sidebar, then try any page below: every picture on this page is live, drawn by the "
    "model you picked."))
model = require_model()
latent_dim = model.checkpoint.model.latent_dim

tour, tour_text = st.columns([1, 4], vertical_alignment="center")
if tour.button("Start the tour", type="primary", icon=":material/tour:", key="home_tour"):
    start_tour()
tour_text.markdown("New here? The tour walks through the story in a few steps: the "
                   "**bottleneck**, the autoencoder against PCA, denoising, a VAE's smooth "
                   "codes, interpolation, the map and anomalies.")

digits = own_dataset(model)
noun = own_noun(model)
# One image of each class, the same ones every visit, so the picture is a stable reference.
indices = torch.stack([torch.nonzero(digits.labels == label)[0, 0]
                       for label in range(len(digits.class_names))])
images = own_images(model)[indices]
with torch.inference_mode():
    rebuilt = model.checkpoint.model.reconstruct(images, digits.labels[indices])

left, right = st.columns([3, 1])
with left:
    st.subheader(f"{noun.capitalize()} and their reconstructions")
    st.image(grid_png(torch.cat([images, rebuilt]), columns=10, scale=4),
             caption=f"Top: real {noun}, one of each class "  # a folder's name: a file's
                     f"({inert(set_label(own_source(model)))}). "
                     f"Bottom: what the model rebuilds from the code alone.",
             output_format="PNG")
with right:
    st.metric("Input size", "784 pixels")
    st.metric("Bottleneck", f"{latent_dim} numbers")
    st.metric("Compression", f"{784 / latent_dim:.1f}×")

lecture_pictures(model, images[:1], digits.labels[indices][:1], noun)  # the slides' pictures

st.subheader("What you can do")
pictures = _previews(model.key, own_source(model), model)
for start in range(0, len(CARDS), CARDS_PER_ROW):
    for column, (page, preview, sentence) in zip(
            st.columns(CARDS_PER_ROW), CARDS[start:start + CARDS_PER_ROW], strict=False):
        with column.container(border=True, key=f"home_card_{preview}"):
            st.page_link(page)
            st.image(pictures[preview], output_format="PNG", width="stretch")
            st.caption(say(sentence))

st.subheader("The shipped models")
listing = tuple((str(path), path.stat().st_mtime)
                for path in list_checkpoints(state.CHECKPOINT_DIR))
active = model.label.removeprefix(SHIPPED_PREFIX)
st.markdown("\n".join(
    f"- **{name}**{' (active)' if name == active else ''}: {line}"
    for name, line in _shipped_lines(listing)) or "No shipped models in this installation.")
st.caption("Pick one in the sidebar; every page, these cards included, follows it.")
