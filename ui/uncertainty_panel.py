"""A VAE's uncertainty on the sliders page (ae_core.uncertainty): the encoder's mean ± spread
as ellipses on the 2-D pictures, and a Resample button that decodes mu + sigma * epsilon."""

from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st
import torch

from ae_core.figures import grid_png
from ae_core.uncertainty import posterior_spread, resample
from ui.models import ActiveModel
from ui.sources import wording

RESAMPLES = 8  # decodes per press
SEED_KEY = "sliders_resample_seed"


def spread_of(model: ActiveModel, image: torch.Tensor,
              label: int) -> tuple[torch.Tensor, torch.Tensor] | None:
    """The encoder's (mean, std) of `image`, or None for a model without a posterior."""
    net = model.checkpoint.model
    if not net.is_variational:
        return None
    return posterior_spread(net, image, label if net.is_conditional else None)


def add_ellipses(figure: go.Figure, spread: tuple[torch.Tensor, torch.Tensor] | None) -> None:
    """Mark mean ± 1 and ± 2 standard deviations of a 2-D posterior on a code-axes figure."""
    if spread is None or len(spread[0]) != 2:
        return
    (x, y), (sx, sy) = spread[0].tolist(), spread[1].tolist()
    for times, dash in ((1, "solid"), (2, "dot")):
        figure.add_shape(type="circle", xref="x", yref="y", x0=x - times * sx, x1=x + times * sx,
                         y0=y - times * sy, y1=y + times * sy,
                         line={"color": "rgba(255,165,0,0.95)", "width": 2, "dash": dash})
    figure.add_trace(go.Scatter(x=[x], y=[y], mode="markers", name="encoder's mean",
                                marker={"size": 8, "color": "orange"},
                                hovertemplate=f"encoder's mean<br>σ = ({sx:.3f}, {sy:.3f})"
                                              "<extra></extra>"))


def ellipse_data(spread: tuple[torch.Tensor, torch.Tensor] | None) -> dict | None:
    """What the browser's code plane draws: the mean and spread of a 2-D posterior."""
    if spread is None or len(spread[0]) != 2:
        return None
    return {"mean": spread[0].tolist(), "sd": spread[1].tolist()}


def _another() -> None:
    st.session_state[SEED_KEY] = st.session_state.get(SEED_KEY, 0) + 1


def resample_panel(model: ActiveModel, image: torch.Tensor, label: int) -> None:
    """The encoder's spread for the digit, and RESAMPLES decodes of mu + sigma * eps."""
    spread = spread_of(model, image, label)
    if spread is None:
        return
    mean, std = spread
    st.subheader("The encoder's uncertainty")
    say = wording(model)  # "garment" for clothes
    st.markdown(say(
        f"A VAE's encoder gives each digit a Gaussian, not a point: mean μ and spread σ per "
        f"dimension (here σ is {float(std.min()):.3f} to {float(std.max()):.3f}, median "
        f"{float(std.median()):.3f}; the prior's is 1). Training decodes a draw μ + σ·ε; "
        f"**Resample** draws {RESAMPLES} more." + (" On the 2-D pictures above the orange "
                                                   "ellipses are μ ± σ and μ ± 2σ."
                                                   if len(mean) == 2 else "")))
    st.button("Resample", key="sliders_resample", on_click=_another,
              icon=":material/casino:")
    seed = st.session_state.get(SEED_KEY, 0)
    net = model.checkpoint.model
    _, decoded = resample(net, mean, std, RESAMPLES, seed, label if net.is_conditional else None)
    st.image(grid_png(torch.cat([image.unsqueeze(0), decoded]), columns=RESAMPLES + 1, scale=3),
             output_format="PNG",
             caption=say(f"The digit, then {RESAMPLES} decodes of μ + σ·ε (draw {seed + 1})"))
