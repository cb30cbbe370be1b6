"""AE vs VAE: the same images interpolated by two models, their maps, and how many decoded
midpoints look like a real image to a probe of real images (ae_core.smoothness). The images
are the left model's own kind (ui.sources.own_source): digits, or clothes."""

from __future__ import annotations

from functools import partial

import numpy as np
import plotly.graph_objects as go
import streamlit as st
import torch

from ae_core.figures import code_scatter, grid_png
from ae_core.figures.lecture import PROJECTOR_PNG, projector_grid_png
from ae_core.kinds import DEFAULT_KIND
from ae_core.latent import decode_codes, interpolate
from ae_core.projection import PCAProjection
from ae_core.smoothness import CONFIDENT, PAIRS, ImageProbe, different_class_pairs, midpoint_report
from ui.attribute_panel import disentanglement_section
from ui.holes_panel import random_codes_section
from ui.models import (
    ActiveModel,
    active_model,
    label_for_name,
    model_by_label,
    model_cache,
    model_labels,
    model_name,
)
from ui.plain_text import inert
from ui.precomputed import stored
from ui.sources import (
    encoded,
    load_source,
    own_source,
    set_label,
    source_images,
    source_kind,
    wording,
)
from ui.widgets import digit_picker, labels_for

# A plain AE and a VAE of the same 2-D size: their codes are their own map, no projection
# between the picture and the claim.
DEFAULTS = ("ae_2", "vae_2")
SIDES = ("ae_vs_vae_left", "ae_vs_vae_right")
STEPS = 9  # codes on each path, both ends included
SCALE = 3
JUDGE_IMAGES = 5000  # the judge learns from the first 4,000 of these, checks on 1,000


@st.cache_resource(show_spinner="Training the judge (a probe of real images' pixels)…")
def image_probe(source: str) -> ImageProbe:
    """The logistic regression on the pixels of `source`'s first JUDGE_IMAGES images, shared
    by all sessions."""
    labels = load_source(source).labels[:JUDGE_IMAGES]
    return stored("image_probe", (source, JUDGE_IMAGES),
                  lambda: ImageProbe().fit(source_images(source)[:JUDGE_IMAGES], labels),
                  ImageProbe.to_state, ImageProbe.from_state)


@model_cache(st.cache_data, show_spinner="Decoding the midpoints of 200 pairs…",
             max_entries=16)
def midpoint_fraction(model_key: str, source: str, _model: ActiveModel) -> tuple[float, float]:
    """(share of confident midpoints, mean confidence) over PAIRS pairs of `source`'s images."""
    def measure() -> tuple[float, float]:
        labels = load_source(source).labels
        codes = encoded(_model, source).codes
        report = midpoint_report(_model.checkpoint.model, codes, labels,
                                 different_class_pairs(labels, PAIRS, seed=0),
                                 image_probe(source))
        return report.fraction, float(report.confidences.mean())

    return tuple(stored("midpoint_fraction", (source, PAIRS, JUDGE_IMAGES), measure,
                        model_keys=(model_key,)))


@model_cache(show_spinner="Projecting the codes…", max_entries=16)
def map_projection(model_key: str, source: str, _model: ActiveModel) -> PCAProjection | None:
    """PCA of a model's codes of `source`; None for a 2-D code, drawn as it is."""
    codes = encoded(_model, source).codes
    return None if codes.shape[1] == 2 else PCAProjection(2).fit(codes.numpy())


def to_map(projection: PCAProjection | None, codes: torch.Tensor) -> np.ndarray:
    """(N, D) codes -> (N, 2) map coordinates."""
    if projection is None:
        return codes.numpy()
    return projection.transform(codes.numpy())


def preferred_label(side: str, default: str) -> str:
    """The picker's choice, else the default model when there is one, else the first."""
    labels = model_labels()
    for label in (st.session_state.get(f"{side}_model"), label_for_name(default)):
        if label in labels:
            return label
    return labels[0]


def kind_defaults(active: ActiveModel, labels: list[str]) -> tuple[str, str] | None:
    """A plain and a variational model of the active model's kind of images, by name (the
    shipped pair are digit models); None when its kind has no such pair here."""
    models = [model for model in map(model_by_label, labels)
              if model is not None and model.kind.name == active.kind.name]
    plain = [model for model in models if not model.checkpoint.model.is_variational]
    variational = [model for model in models if model.checkpoint.model.is_variational]
    if not plain or not variational:
        return None
    return model_name(plain[0].label), model_name(variational[0].label)


def model_picker(side: str, default: str) -> str:
    labels = model_labels()
    index = labels.index(preferred_label(side, default))
    return st.selectbox("Model", labels, index=index, key=f"{side}_model")


st.title("AE vs VAE")
active = active_model()
say = wording(active)  # the words for the active model's kind of images
st.markdown(say(
    "A plain autoencoder is only asked to rebuild its inputs, so nothing forces the space "
    "*between* its codes to mean anything; a VAE's KL term packs its codes into a Gaussian, "
    "which should leave fewer holes (tutorial 004). Here the same two digits are walked "
    "through by both models, and each model's midpoints between many pairs of digits are shown "
    "to a judge that has only ever seen real digits."))
labels = model_labels()
if active is not None and active.kind.name != DEFAULT_KIND:  # a pair of the active model's kind
    DEFAULTS = kind_defaults(active, labels) or DEFAULTS
if not labels:
    st.info("No model yet: train one on the **Train** page or upload a checkpoint in the "
            "sidebar.")
    st.stop()
# The left model's own images, shown to both (the pickers' indices are into this set).
source = own_source(model_by_label(preferred_label(SIDES[0], DEFAULTS[0])))
digits = load_source(source)
images = source_images(source)
st.caption(f"Both models walk between images of the left model's kind: the {set_label(source)}.")

first, second = st.columns(2, gap="large")
with first:
    start = digit_picker("ae_vs_vae_start", digits, "From", default_class=1)
with second:
    end = digit_picker("ae_vs_vae_end", digits, "To", default_class=7)

probe = image_probe(source)
columns = st.columns(2, gap="large")
for side, default, column in zip(SIDES, DEFAULTS, columns, strict=True):
    with column:
        label = model_picker(side, default)
        model = model_by_label(label)
        net = model.checkpoint.model
        name = model_name(label)
        if model.kind.name != source_kind(source).name:
            st.warning(f"{name} learned from {model.kind.plural}, not from these "
                       f"{source_kind(source).plural}: its path runs between images it never "
                       f"learned.", icon=":material/info:")
        codes = encoded(model, source).codes
        fraction, mean_confidence = midpoint_fraction(model.key, source, model)
        st.metric(f"Confident midpoints · {name}", f"{fraction:.0%}",
                  help=f"Of {PAIRS} random pairs of images of different classes, the "
                       f"share whose decoded midpoint the probe names a class with probability "
                       f"≥ {CONFIDENT:.0%} (mean probability {mean_confidence:.2f}).")
        path = interpolate(codes[start], codes[end], STEPS)  # (STEPS, D)
        decoded = decode_codes(net, path, labels_for(model.checkpoint,
                                                     int(digits.labels[start]), STEPS))
        strip = torch.cat([images[start:start + 1], decoded, images[end:end + 1]])
        seen, confidence = probe.judge(decoded[STEPS // 2:STEPS // 2 + 1])
        st.image(grid_png(strip, columns=STEPS + 2, scale=SCALE), output_format="PNG",
                 caption=f"{inert(name)}: the two images at the ends, the decoded path "
                         f"between them. Midpoint: the probe sees a "
                         f"{inert(digits.class_names[int(seen[0])])} ({confidence[0]:.0%}).")
        st.download_button("Strip (PNG for a projector)",
                           partial(projector_grid_png, strip, columns=STEPS + 2),
                           f"path_{name}.png", "image/png",
                           key=f"{side}_strip_png", icon=":material/image:", on_click="ignore")
        projection = map_projection(model.key, source, model)
        coords = to_map(projection, codes)
        path_coords = to_map(projection, path)
        kind = "2-D code as it is" if projection is None else "PCA of the codes"
        figure = code_scatter(coords, digits.labels, digits.class_names,
                              f"{name} · {len(codes):,} images · {kind}", height=440)
        figure.add_trace(go.Scatter(
            x=path_coords[:, 0], y=path_coords[:, 1], mode="lines+markers", name="path",
            line={"color": "black", "width": 2}, marker={"size": 6, "color": "black"}))
        st.plotly_chart(figure, key=f"{side}_map", config={**PROJECTOR_PNG, "displaylogo": False})

st.caption(
    f"**The judge**: a logistic regression on the pixels of the first {JUDGE_IMAGES:,} of the "
    f"{set_label(source)} (four fifths to learn from). On the real "
    f"{source_kind(source).plural} it never "
    f"saw it is right "
    f"{probe.held_out_accuracy_:.0%} of the time and confident (≥ {CONFIDENT:.0%}) on "
    f"{probe.held_out_confident_:.0%} of them: the score a perfect decoder would get. It sees "
    f"images, never codes, so it judges both models alike whatever their code size. Midpoints "
    f"are halfway along the straight line between two images' codes.")

# The second test: random codes from the codes' box and the prior (ui/holes_panel.py)
random_codes_section([model_by_label(preferred_label(side, default))
                      for side, default in zip(SIDES, DEFAULTS, strict=True)], source, probe)
disentanglement_section()  # ae_32, vae_20, beta_vae_20: MIG heat maps (ui/attribute_panel.py)
