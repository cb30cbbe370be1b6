"""AE vs VAE: the same digits interpolated by two models, their maps, and how many decoded
midpoints look like a digit to a probe of real digits (ae_core.smoothness)."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import streamlit as st
import torch

from ae_core.checkpoint import Checkpoint
from ae_core.figures import code_scatter, grid_png
from ae_core.latent import decode_codes, interpolate
from ae_core.projection import PCAProjection
from ae_core.smoothness import CONFIDENT, PAIRS, ImageProbe, different_class_pairs, midpoint_report
from ui.models import (
    SHIPPED_PREFIX,
    embedded_digits,
    embedded_images,
    encoded_digits,
    model_by_label,
    model_cache,
    model_labels,
)
from ui.widgets import digit_picker, labels_for

# A plain AE and a VAE of the same 2-D size: their codes are their own map, no projection
# between the picture and the claim.
DEFAULTS = ("ae_2", "vae_2")
SIDES = ("ae_vs_vae_left", "ae_vs_vae_right")
STEPS = 9  # codes on each path, both ends included
SCALE = 3


@st.cache_resource(show_spinner="Training the judge (a probe of real digits' pixels)…")
def image_probe() -> ImageProbe:
    """The logistic regression on the embedded digits' pixels, shared by all sessions."""
    return ImageProbe().fit(embedded_images(), embedded_digits().labels)


@model_cache(st.cache_data, show_spinner="Decoding the midpoints of 200 digit pairs…",
             max_entries=16)
def midpoint_fraction(model_key: str, _checkpoint: Checkpoint) -> tuple[float, float]:
    """(share of confident midpoints, mean confidence) over PAIRS pairs of the embedded digits."""
    labels = embedded_digits().labels
    codes = encoded_digits(model_key, _checkpoint).codes
    report = midpoint_report(_checkpoint.model, codes, labels,
                             different_class_pairs(labels, PAIRS, seed=0), image_probe())
    return report.fraction, float(report.confidences.mean())


@model_cache(show_spinner="Projecting the codes…", max_entries=16)
def map_projection(model_key: str, _checkpoint: Checkpoint) -> PCAProjection | None:
    """PCA of a model's codes; None for a 2-D code, drawn as it is."""
    codes = encoded_digits(model_key, _checkpoint).codes
    return None if codes.shape[1] == 2 else PCAProjection(2).fit(codes.numpy())


def to_map(projection: PCAProjection | None, codes: torch.Tensor) -> np.ndarray:
    """(N, D) codes -> (N, 2) map coordinates."""
    if projection is None:
        return codes.numpy()
    return projection.transform(codes.numpy())


def model_picker(side: str, default: str) -> str:
    labels = model_labels()
    preferred = SHIPPED_PREFIX + default
    index = labels.index(preferred) if preferred in labels else 0
    return st.selectbox("Model", labels, index=index, key=f"{side}_model")


st.title("AE vs VAE")
st.markdown(
    "A plain autoencoder is only asked to rebuild its inputs, so nothing forces the space "
    "*between* its codes to mean anything; a VAE's KL term packs its codes into a Gaussian, "
    "which should leave fewer holes (tutorial 004). Here the same two digits are walked "
    "through by both models, and each model's midpoints between many pairs of digits are shown "
    "to a judge that has only ever seen real digits.")
labels = model_labels()
if not labels:
    st.info("No model yet: train one on the **Train** page or upload a checkpoint in the "
            "sidebar.")
    st.stop()
digits = embedded_digits()
images = embedded_images()

first, second = st.columns(2, gap="large")
with first:
    start = digit_picker("ae_vs_vae_start", digits, "From", default_class=1)
with second:
    end = digit_picker("ae_vs_vae_end", digits, "To", default_class=7)

probe = image_probe()
columns = st.columns(2, gap="large")
for side, default, column in zip(SIDES, DEFAULTS, columns, strict=True):
    with column:
        label = model_picker(side, default)
        model = model_by_label(label)
        net = model.checkpoint.model
        name = label.split(": ", 1)[-1]
        codes = encoded_digits(model.key, model.checkpoint).codes
        fraction, mean_confidence = midpoint_fraction(model.key, model.checkpoint)
        st.metric(f"Confident midpoints · {name}", f"{fraction:.0%}",
                  help=f"Of {PAIRS} random pairs of embedded digits of different classes, the "
                       f"share whose decoded midpoint the probe calls a digit with probability "
                       f"≥ {CONFIDENT:.0%} (mean probability {mean_confidence:.2f}).")
        path = interpolate(codes[start], codes[end], STEPS)  # (STEPS, D)
        decoded = decode_codes(net, path, labels_for(model.checkpoint,
                                                     int(digits.labels[start]), STEPS))
        strip = torch.cat([images[start:start + 1], decoded, images[end:end + 1]])
        seen, confidence = probe.judge(decoded[STEPS // 2:STEPS // 2 + 1])
        st.image(grid_png(strip, columns=STEPS + 2, scale=SCALE), output_format="PNG",
                 caption=f"{name}: the two digits at the ends, the decoded path between them. "
                         f"Midpoint: the probe sees a {digits.class_names[int(seen[0])]} "
                         f"({confidence[0]:.0%}).")
        projection = map_projection(model.key, model.checkpoint)
        coords = to_map(projection, codes)
        path_coords = to_map(projection, path)
        kind = "2-D code as it is" if projection is None else "PCA of the codes"
        figure = code_scatter(coords, digits.labels, digits.class_names,
                              f"{name} · {len(codes):,} digits · {kind}", height=440)
        figure.add_trace(go.Scatter(
            x=path_coords[:, 0], y=path_coords[:, 1], mode="lines+markers", name="path",
            line={"color": "black", "width": 2}, marker={"size": 6, "color": "black"}))
        st.plotly_chart(figure, key=f"{side}_map", config={"displaylogo": False})

st.caption(
    f"**The judge**: a logistic regression on the pixels of the embedded digits (4,000 to "
    f"learn from). On the 1,000 real digits it never saw it is right "
    f"{probe.held_out_accuracy_:.0%} of the time and confident (≥ {CONFIDENT:.0%}) on "
    f"{probe.held_out_confident_:.0%} of them: the score a perfect decoder would get. It sees "
    f"images, never codes, so it judges both models alike whatever their code size. Midpoints "
    f"are halfway along the straight line between two digits' codes.")
