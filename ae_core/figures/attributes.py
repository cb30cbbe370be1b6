"""Figures of what a code's directions mean, as Plotly figures (part of ae_core.figures): the
disentanglement heat map (what each code dimension alone tells about each factor of a digit,
ae_core.disentanglement) and the map on custom axes (positions along attribute or
class-to-class directions, ae_core.attributes), measured values on hover."""

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


def attribute_axes_map(coords: np.ndarray, labels: np.ndarray, class_names: Sequence[str],
                       measurements: np.ndarray, names: Sequence[str], units: Sequence[str],
                       axis_titles: Sequence[str], title: str = "",
                       height: int = 560) -> go.Figure:
    """(N, 2) positions along two chosen directions, coloured by class; hovering a point shows
    its image number and its (N, K) measured values."""
    from ae_core.figures.charts import CLASS_COLOURS

    coords = np.asarray(coords, dtype=float)
    labels = np.asarray(labels)
    lines = "<br>".join(f"{name} %{{customdata[{column + 1}]:.2f}} {unit}"
                        for column, (name, unit) in enumerate(zip(names, units, strict=True)))
    figure = go.Figure()
    for label in np.unique(labels):
        chosen = np.flatnonzero(labels == label)
        name = class_names[int(label)] if int(label) < len(class_names) else str(label)
        custom = np.column_stack([chosen, np.round(measurements[chosen], 3)])
        figure.add_trace(go.Scattergl(
            x=coords[chosen, 0], y=coords[chosen, 1], mode="markers", name=name,
            customdata=custom,
            marker={"size": 5, "color": CLASS_COLOURS[int(label) % len(CLASS_COLOURS)],
                    "opacity": 0.7},
            hovertemplate=f"<b>{name}</b> · image #%{{customdata[0]}}<br>{lines}"
                          "<extra></extra>"))
    figure.update_layout(title={"text": title, "font": {"size": 13}}, height=height,
                         margin={"l": 10, "r": 10, "t": 50 if title else 10, "b": 10},
                         legend={"orientation": "h", "y": -0.12, "itemwidth": 30},
                         xaxis={"title": {"text": axis_titles[0]}, "zeroline": False},
                         yaxis={"title": {"text": axis_titles[1]}, "zeroline": False})
    return figure
