"""Draw a digit: your own digit in MNIST's form, through the model: what it rebuilds, where its
code lands among the model's own images (ui.sources.own_source: digits, or clothes for a
Fashion-MNIST model), its neighbours, how unusual it is, which class."""

from __future__ import annotations

import hashlib

import numpy as np
import streamlit as st
import torch

from ae_core.anomaly import reconstruction_scores, threshold
from ae_core.checkpoint import Checkpoint
from ae_core.drawing import MAX_FILE_BYTES, DrawingError, digit_from_canvas, digit_from_file
from ae_core.figures import add_marked_point, grid_png, image_png, latent_map
from ae_core.figures.lecture import PROJECTOR_PNG
from ae_core.kinds import DEFAULT_KIND
from ae_core.latent import decode_codes, encode_dataset, nearest_neighbours
from ae_core.metrics import fit_linear_probe
from ae_core.projection import PCAProjection
from ui import state
from ui.draw_canvas import draw_canvas
from ui.models import ActiveModel, active_model, model_cache, require_model
from ui.plain_text import inert
from ui.sources import (
    encoded as encoded_set,
)
from ui.sources import (
    load_source,
    normal_sources,
    own_codes,
    own_dataset,
    own_images,
    own_noun,
    own_source,
    set_label,
    shown_kind,
    source_images,
    wording,
)
from ui.widgets import DRAWING, Drawing, guarded

NEIGHBOURS = 8
# The anomaly page's defaults: its normal images (the first source it offers) and its rule.
ANOMALY_RULE, ANOMALY_VALUE = "quantile", 0.95
INPUT_KEY = "draw_input"  # ("canvas", PNG data URL) or ("upload", bytes): the latest touched
CANVAS_KEY = "draw_canvas"
UPLOAD_KEY = "draw_upload"


@model_cache(show_spinner="Fitting the linear probe…", max_entries=16)
def class_probe(model_key: str, source: str, _model: ActiveModel):
    """The linear probe (ae_core.metrics) fitted once per model on its own images' codes."""
    codes = encoded_set(_model, source)
    return fit_linear_probe(codes.codes.numpy(), codes.labels.numpy())


@model_cache(show_spinner="Projecting the codes…", max_entries=16)
def code_map(model_key: str, source: str,
             _model: ActiveModel) -> tuple[np.ndarray, PCAProjection | None]:
    """(N, 2) map of the model's own images: the code itself when 2-D, else its PCA."""
    codes = encoded_set(_model, source).codes.numpy()
    if codes.shape[1] == 2:
        return codes, None
    projection = PCAProjection(2).fit(codes)
    return projection.transform(codes), projection


@model_cache(st.cache_data, show_spinner="Scoring the held-out images…", max_entries=16)
def anomaly_threshold(model_key: str, source: str, _checkpoint: Checkpoint) -> float:
    """The anomaly page's default threshold: the 95th percentile of the errors on `source`,
    the first normal source it offers (ui.sources.normal_sources)."""
    normal = load_source(source)
    scores = reconstruction_scores(_checkpoint.model, source_images(source), normal.labels)
    return threshold(scores, ANOMALY_RULE, ANOMALY_VALUE)


def _drawn() -> None:
    drawing = (st.session_state.get(CANVAS_KEY) or {}).get("drawing") or {}
    st.session_state[INPUT_KEY] = ("canvas", str(drawing.get("png") or ""))


def _uploaded() -> None:
    upload = st.session_state.get(UPLOAD_KEY)
    if upload is not None and upload.size > MAX_FILE_BYTES:  # not copied into the session
        st.session_state[INPUT_KEY] = ("too large", upload.size)
        return
    st.session_state[INPUT_KEY] = ("upload", upload.getvalue()) if upload else ("canvas", "")


def _digit(kind: str, data: str | bytes | int) -> torch.Tensor:
    """(1, 28, 28) from the latest input, or DrawingError."""
    if kind == "too large":
        raise DrawingError(f"The file is {data / 2**20:.1f} MB; the limit is "
                           f"{MAX_FILE_BYTES // 2**20} MB.")
    return digit_from_file(data) if kind == "upload" else digit_from_canvas(data)


say = wording(active_model())  # the words for the active model's kind of images
st.title(say("Draw a digit"))
st.markdown(say(
    "Draw a digit on the black square (or upload a picture of one). It is brought to MNIST's "
    "form the way the dataset was made: cropped to the ink, fitted into 20×20 pixels keeping "
    "its shape, and placed so its centre of mass sits at the centre of 28×28. Then the model "
    "encodes it."))
model = require_model()
checkpoint = model.checkpoint
net = checkpoint.model
digits = own_dataset(model)
own_kind = shown_kind(model)
if own_kind.name != DEFAULT_KIND:  # a model of another kind than digits
    st.info(f"This model learned from {own_kind.plural}: your drawing is still prepared the "
            f"MNIST way (cropped, fitted and centred), then read as one of its classes and "
            f"placed among the "
            f"{set_label(own_source(model))}.", icon=":material/info:")

draw_column, seen_column, verdict_column = st.columns([1.15, 1, 1.25], gap="medium")
with draw_column:
    draw_canvas(CANVAS_KEY, on_change=_drawn, hint=say("Draw one digit, large, in the middle"))
    st.file_uploader(say(f"Or upload a PNG or JPEG of a digit (up to "
                         f"{MAX_FILE_BYTES // 2**20} MB)"),
                     type=["png", "jpg", "jpeg"], key=UPLOAD_KEY, on_change=_uploaded,
                     max_upload_size=MAX_FILE_BYTES // 2**20,  # not the server's 200 MB
                     help="Any size or colour; dark ink on paper or light ink on dark. The "
                          "picture's border tells which is the background.")

kind, data = st.session_state.get(INPUT_KEY, ("canvas", None))
if data is None:
    seen_column.info(say("Draw a digit on the black square: what the model makes of it "
                         "appears here when you lift the pen."), icon=":material/draw:")
    st.stop()
try:
    image = _digit(kind, data)  # (1, 28, 28)
except DrawingError as error:
    seen_column.warning(str(error), icon=":material/info:")
    st.stop()

if net.is_conditional:
    # A conditional model is told the class: the guess is the class it rebuilds best.
    errors = reconstruction_scores(net, image.expand(10, 1, 28, 28).contiguous(),
                                   torch.arange(10))
    guess, chances = int(np.argmin(errors)), None
else:
    guess, chances = None, None
label = torch.tensor([guess or 0])
encoded = guarded("Encoding the drawing", encode_dataset, net, image.unsqueeze(0), label)
if encoded is None:
    st.stop()
code, score = encoded.codes[0], float(encoded.errors[0])  # (D,), MSE per pixel
if guess is None:
    chances = class_probe(model.key, own_source(model), model).predict_proba(code.numpy()[None])[0]
    guess = int(np.argmax(chances))
recon = decode_codes(net, code.unsqueeze(0), label if net.is_conditional else None)

with seen_column:
    st.image(image_png(image, scale=7), output_format="PNG",
             caption="As the model sees it (28×28)")
    st.image(image_png(recon[0], scale=7), output_format="PNG",
             caption="The model's reconstruction")
with verdict_column:
    name = digits.class_names[guess]
    if chances is not None:
        st.metric("The linear probe's guess", name, border=True,
                  help=f"A logistic regression fitted on this model's codes of the "
                       f"{set_label(own_source(model))} (as in the quality report).")
        ranked = np.argsort(-chances)[:3]
        st.caption(inert(" · ".join(f"{digits.class_names[c]}: {chances[c]:.0%}" for c in ranked)))
    else:
        st.metric("The class it rebuilds best", name, border=True,
                  help=say("A conditional model is told the class; this is the one whose "
                           "reconstruction is closest to your digit."))
    normal = normal_sources(model)
    cut = (anomaly_threshold(model.key, normal[0], checkpoint)
           if normal and not net.is_conditional else None)
    st.metric("Anomaly score (MSE / pixel)", f"{score:.4f}", border=True,
              help="The reconstruction error. The threshold is the Anomaly detection page's "
                   "default: the 95th percentile of its normal test images' errors.")
    if cut is not None and score > cut:
        st.warning(f"Above the anomaly threshold ({cut:.4f}): unusual for this model.",
                   icon=":material/warning:")
    elif cut is not None:
        st.success(f"Below the anomaly threshold ({cut:.4f}): like the images it knows.",
                   icon=":material/check_circle:")

    version = int(hashlib.sha256(image.numpy().tobytes()).hexdigest()[:12], 16)
    if st.button("Send to sliders", icon=":material/tune:", key="draw_to_sliders",
                      width="stretch"):
        st.session_state[state.DRAWN_DIGIT] = Drawing(image, guess, version)
        st.session_state[state.SELECTED_DIGIT] = DRAWING
        st.switch_page("app_pages/sliders.py")
    if st.button("Send to interpolation", icon=":material/timeline:",
                            key="draw_to_interpolation", width="stretch"):
        ends = list(st.session_state.get(state.INTERPOLATION_ENDS) or [None, None])
        st.session_state[state.DRAWN_DIGIT] = Drawing(image, guess, version)
        st.session_state[state.INTERPOLATION_ENDS] = [DRAWING, ends[1]]
        st.switch_page("app_pages/interpolate.py")

map_column, neighbours_column = st.columns([3, 2], gap="large")
codes = own_codes(model)
coords, projection = code_map(model.key, own_source(model), model)
point = code.numpy()[None] if projection is None else projection.transform(code.numpy()[None])
axes = ("z[0]", "z[1]") if projection is None else ("PC 1", "PC 2")
with map_column:
    figure = latent_map(coords, codes.labels.numpy(), codes.errors.numpy(), digits.class_names,
                        "label", axes, f"Your drawing among {len(coords):,} {own_noun(model)} "
                        f"({'its 2-D code' if projection is None else 'PCA of the codes'})",
                        height=460)
    st.plotly_chart(add_marked_point(figure, point[0]), key="draw_map",
                    config={**PROJECTOR_PNG, "displaylogo": False})
with neighbours_column:
    near = nearest_neighbours(codes.codes, code, NEIGHBOURS)  # (8,) nearest first
    st.markdown(f"**Its {NEIGHBOURS} nearest neighbours** in the code space")
    st.image(grid_png(own_images(model)[near], columns=4, scale=4), output_format="PNG",
             caption="Nearest first: " + ", ".join(
                 f"#{int(i)} ({inert(digits.class_names[int(digits.labels[i])])})"  # a file's
                 for i in near))
