"""The disentanglement heat map: what each code dimension alone tells about each factor of a
digit (ae_core.disentanglement), as a Plotly figure. Part of ae_core.figures."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go


def information_heatmap(shares: np.ndarray, factors: Sequence[str], gaps: Sequence[float],
                        title: str, height: int = 460) -> go.Figure:
    """(D, K) share of each factor's entropy that each dimension alone carries -> a heat map,
    dimensions down, factors across, each factor's MIG in its column label. Only dimensions
    that carry something (any share >= 0.05) are drawn, most informative first."""
    shares = np.asarray(shares, dtype=float)
    order = np.argsort(-shares.max(axis=1))
    shown = [int(d) for d in order if shares[d].max() >= 0.05] or [int(order[0])]
    columns = [f"{name}<br>MIG {gap:.2f}" for name, gap in zip(factors, gaps, strict=True)]
    figure = go.Figure(go.Heatmap(
        z=shares[shown], x=columns, y=[f"z[{d}]" for d in shown], zmin=0.0, zmax=1.0,
        colorscale="Blues", colorbar={"title": {"text": "share"}, "thickness": 12},
        text=np.round(shares[shown], 2), texttemplate="%{text:.2f}",
        hovertemplate="%{y} · %{x}<br>%{z:.3f} of its entropy<extra></extra>"))
    figure.update_yaxes(autorange="reversed")
    figure.update_layout(title={"text": title, "font": {"size": 14}}, height=height,
                         margin={"l": 10, "r": 10, "t": 40, "b": 10})
    return figure
