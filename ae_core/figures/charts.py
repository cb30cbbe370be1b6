"""Charts: numbers plotted on axes, as Plotly figures (and the latent map as a static PNG).

Part of ae_core.figures; the digits as pixels are in ae_core/figures/images.py."""

from __future__ import annotations

import base64
from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
import torch
from plotly.subplots import make_subplots

# One colour per class, the same on every chart (Plotly's qualitative "D3" palette).
CLASS_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                 "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")
# Loss terms that are sums of others, not a separate regulariser worth its own curve.
COMBINED_TERMS = ("loss", "recon_loss", "neg_elbo")


def loss_curves(history: Sequence, height: int = 320) -> go.Figure:
    """Per-epoch train/val curves of an ae_core.train history (EpochReport list).

    Reconstruction on the left; the regularisers (KL for a VAE, sparsity, codebook, ...) on
    the right, so a KL of a few nats is not flattened by a reconstruction of a hundred.
    """
    terms = [name for report in history[:1] for name in report.train
             if name not in COMBINED_TERMS]
    right_title = "KL (nats)" if terms == ["kl_loss"] else "Regularisers"
    figure = make_subplots(rows=1, cols=2 if terms else 1, horizontal_spacing=0.12,
                           subplot_titles=("Reconstruction", right_title) if terms
                           else ("Reconstruction",))
    epochs = [report.epoch for report in history]
    panels = [("recon_loss", 1)] + [(name, 2) for name in terms]
    for index, (name, column) in enumerate(panels):
        colour = CLASS_COLOURS[index % len(CLASS_COLOURS)]
        for split, dash in (("train", "solid"), ("val", "dot")):
            values = [getattr(report, split).get(name) for report in history]
            if all(value is None for value in values):
                continue
            figure.add_trace(go.Scatter(
                x=epochs, y=values, mode="lines+markers", name=f"{name} ({split})",
                line={"color": colour, "dash": dash}), row=1, col=column)
    figure.update_xaxes(title_text="epoch", dtick=1 if len(epochs) <= 12 else None)
    figure.update_layout(height=height, margin={"l": 10, "r": 10, "t": 30, "b": 10},
                         legend={"orientation": "h", "yanchor": "top", "y": -0.3})
    return figure


def code_scatter(points: np.ndarray | torch.Tensor, labels: np.ndarray | torch.Tensor,
                 class_names: Sequence[str], title: str = "", height: int = 360) -> go.Figure:
    """(N, 2) points coloured by (N,) class, one legend entry per class."""
    points = np.asarray(points, dtype=np.float32)
    labels = np.asarray(labels)
    figure = go.Figure()
    for label in np.unique(labels):
        chosen = labels == label
        name = class_names[int(label)] if int(label) < len(class_names) else str(label)
        figure.add_trace(go.Scattergl(
            x=points[chosen, 0], y=points[chosen, 1], mode="markers", name=name,
            marker={"size": 5, "color": CLASS_COLOURS[int(label) % len(CLASS_COLOURS)],
                    "opacity": 0.75}))
    figure.update_layout(title={"text": title, "font": {"size": 13}}, height=height,
                         margin={"l": 10, "r": 10, "t": 50 if title else 10, "b": 10},
                         legend={"orientation": "h", "y": -0.12, "itemwidth": 30},
                         xaxis={"zeroline": False}, yaxis={"zeroline": False})
    return figure


def manifold_figure(grid_png: bytes, size: int, low: Sequence[float], high: Sequence[float],
                    point: Sequence[float] | None = None, padding: int = 2,
                    height: int = 520) -> go.Figure:
    """A decoded manifold grid (ae_core.latent.manifold_grid + images.grid_png) on axes in
    code units, with `point` marked; the image is drawn once, only the marker moves.

    `size` and `padding` must be those the PNG was made with (any upscaling is fine): each
    28-pixel cell is centred on the code it was decoded from.
    """
    cell = 28 + padding  # pixels from one cell's start to the next, before scaling
    step = [(high[axis] - low[axis]) / max(1, size - 1) for axis in (0, 1)]
    width_cells = (size * cell - padding) / cell  # image width in cells
    offset = 14 / cell  # a cell's centre sits half a digit in from its edge
    left, top = low[0] - offset * step[0], high[1] + offset * step[1]
    extent = (width_cells * step[0], width_cells * step[1])
    source = "data:image/png;base64," + base64.b64encode(grid_png).decode("ascii")
    figure = go.Figure()
    figure.add_layout_image(source=source, xref="x", yref="y", x=left, y=top,
                            sizex=extent[0], sizey=extent[1], sizing="stretch",
                            xanchor="left", yanchor="top", layer="below")
    x_range = [left, left + extent[0]]
    y_range = [top - extent[1], top]
    if point is not None:
        x, y = float(point[0]), float(point[1])
        figure.add_trace(go.Scatter(x=[x], y=[y], mode="markers", name="current code",
                                    marker={"size": 16, "color": "rgba(230,30,30,0.9)",
                                            "symbol": "x-thin-open", "line": {"width": 4,
                                                                             "color": "red"}}))
        x_range = [min(x_range[0], x), max(x_range[1], x)]
        y_range = [min(y_range[0], y), max(y_range[1], y)]
    # constrain="domain": keep the square picture by shrinking the plot, not widening a range.
    figure.update_xaxes(range=x_range, title_text="z[0]", showgrid=False, zeroline=False,
                        constrain="domain")
    figure.update_yaxes(range=y_range, title_text="z[1]", showgrid=False, zeroline=False,
                        scaleanchor="x", scaleratio=extent[0] / extent[1] if extent[1] else 1,
                        constrain="domain")
    figure.update_layout(height=height, showlegend=False,
                         margin={"l": 10, "r": 10, "t": 10, "b": 10})
    return figure


# --- The latent map, denoising, anomaly and bottleneck pages ------------------------------

# Colour-blind-safe continuous scale (Nuñez et al. 2018) for values such as errors.
CONTINUOUS_SCALE = "Cividis"
# Line colours for models compared on one chart (Okabe & Ito's colour-blind-safe set).
SERIES_COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00",
                  "#F0E442", "#000000")


def _map_points(coords: np.ndarray, labels: np.ndarray, errors: np.ndarray,
                class_names: Sequence[str], indices: np.ndarray | None = None
                ) -> tuple[np.ndarray, ...]:
    """What both latent maps read per point: coordinates, labels, errors, class names, indices
    (each point's dataset index: its position unless `indices` says, for a subsample)."""
    coords = np.asarray(coords, dtype=np.float32)
    indices = np.arange(len(coords)) if indices is None else np.asarray(indices)
    if len(indices) != len(coords):
        raise ValueError(f"{len(indices)} indices for {len(coords)} points")
    labels = np.asarray(labels)
    errors = np.asarray(errors, dtype=np.float64)
    names = np.array([class_names[int(label)] if 0 <= int(label) < len(class_names)
                      else str(label) for label in labels], dtype=object)
    return coords, labels, errors, names, indices


def latent_map(coords: np.ndarray, labels: np.ndarray, errors: np.ndarray,
               class_names: Sequence[str], colour_by: str = "label",
               axis_titles: Sequence[str] = ("", ""), title: str = "",
               selected: Sequence[int] = (), height: int = 600,
               indices: np.ndarray | None = None) -> go.Figure:
    """(N, 2) map of a dataset's codes, one point per image, drawn with WebGL (Scattergl:
    tens of thousands of points pan and hover smoothly).

    Each point's customdata is [dataset index, class name, error], so a selection event names
    the images whatever the trace order; hover shows them. `colour_by` is "label" (one legend
    entry per class) or "error" (a continuous, colour-blind-safe scale clipped at the 99th
    percentile so a few bad reconstructions do not flatten the rest). `selected` dataset
    indices are ringed in black. `indices`: the dataset index of each point, when the map
    draws a subsample (default: the position).
    """
    coords, labels, errors, names, indices = _map_points(coords, labels, errors, class_names,
                                                         indices)
    hover = ("<b>%{customdata[1]}</b> · image #%{customdata[0]}<br>"
             "error %{customdata[2]:.4f}<extra></extra>")

    def customdata(chosen: np.ndarray) -> np.ndarray:
        return np.stack([indices[chosen], names[chosen], np.round(errors[chosen], 6)], axis=1)

    figure = go.Figure()
    if colour_by == "error":
        low, high = np.quantile(errors, [0.01, 0.99]) if len(errors) else (0.0, 1.0)
        everything = np.ones(len(coords), dtype=bool)
        figure.add_trace(go.Scattergl(
            x=coords[:, 0], y=coords[:, 1], mode="markers", name="images",
            customdata=customdata(everything), hovertemplate=hover, showlegend=False,
            marker={"size": 5, "color": errors, "colorscale": CONTINUOUS_SCALE,
                    "cmin": float(low), "cmax": float(max(high, low + 1e-12)),
                    "colorbar": {"title": {"text": "MSE / pixel"}, "thickness": 14},
                    "opacity": 0.85}))
    else:
        for label in np.unique(labels):
            chosen = labels == label
            figure.add_trace(go.Scattergl(
                x=coords[chosen, 0], y=coords[chosen, 1], mode="markers",
                name=str(names[chosen][0]), customdata=customdata(chosen),
                hovertemplate=hover,
                marker={"size": 5, "color": CLASS_COLOURS[int(label) % len(CLASS_COLOURS)],
                        "opacity": 0.75}))
    # With a colour bar on the right, the legend ("selected") goes below, clear of its title.
    legend = ({"itemsizing": "constant", "orientation": "h", "yanchor": "top", "y": -0.1,
               "x": 0} if colour_by == "error" else {"itemsizing": "constant"})
    chosen = np.isin(indices, np.asarray(list(selected), dtype=np.int64))
    if chosen.any():
        figure.add_trace(go.Scattergl(
            x=coords[chosen, 0], y=coords[chosen, 1], mode="markers", name="selected",
            customdata=customdata(chosen), hovertemplate=hover,
            marker={"size": 11, "color": "rgba(0,0,0,0)",
                    "line": {"width": 2, "color": "black"}}))
    figure.update_layout(title={"text": title, "font": {"size": 14}}, height=height,
                         margin={"l": 10, "r": 10, "t": 40 if title else 10, "b": 10},
                         dragmode="pan", hovermode="closest", clickmode="event+select",
                         legend=legend)
    figure.update_xaxes(title_text=axis_titles[0], zeroline=False)
    figure.update_yaxes(title_text=axis_titles[1], zeroline=False)
    return figure


def latent_map_3d(coords: np.ndarray, labels: np.ndarray, errors: np.ndarray,
                  class_names: Sequence[str], colour_by: str = "label",
                  axis_titles: Sequence[str] = ("", "", ""), title: str = "",
                  height: int = 650, indices: np.ndarray | None = None) -> go.Figure:
    """(N, 3) map of a dataset's codes as a WebGL `scatter3d`, coloured as `latent_map`.

    Each point's customdata is [dataset index, class name, error]; hover names the image
    ("image #12, class 7"). Drag turns the scene, scroll zooms.
    """
    coords, labels, errors, names, indices = _map_points(coords, labels, errors, class_names,
                                                         indices)
    hover = ("<b>image #%{customdata[0]}, class %{customdata[1]}</b><br>"
             "error %{customdata[2]:.4f}<extra></extra>")

    def trace(chosen: np.ndarray, name: str, marker: dict, showlegend: bool = True
              ) -> go.Scatter3d:
        return go.Scatter3d(
            x=coords[chosen, 0], y=coords[chosen, 1], z=coords[chosen, 2], mode="markers",
            name=name, showlegend=showlegend, hovertemplate=hover,
            customdata=np.stack([indices[chosen], names[chosen],
                                 np.round(errors[chosen], 6)], axis=1),
            marker={"size": 2.5, **marker})

    figure = go.Figure()
    if colour_by == "error":
        low, high = np.quantile(errors, [0.01, 0.99]) if len(errors) else (0.0, 1.0)
        figure.add_trace(trace(
            np.ones(len(coords), dtype=bool), "images",
            {"color": errors, "colorscale": CONTINUOUS_SCALE, "cmin": float(low),
             "cmax": float(max(high, low + 1e-12)), "opacity": 0.85,
             "colorbar": {"title": {"text": "MSE / pixel"}, "thickness": 14}},
            showlegend=False))
    else:
        for label in np.unique(labels):
            chosen = labels == label
            figure.add_trace(trace(chosen, str(names[chosen][0]),
                                   {"color": CLASS_COLOURS[int(label) % len(CLASS_COLOURS)],
                                    "opacity": 0.8}))
    axis = {"showspikes": False, "zeroline": False, "backgroundcolor": "rgba(0,0,0,0)"}
    figure.update_layout(
        title={"text": title, "font": {"size": 14}}, height=height,
        margin={"l": 0, "r": 0, "t": 40 if title else 0, "b": 0},
        hovermode="closest", legend={"itemsizing": "constant"},
        scene={"xaxis": {**axis, "title": {"text": axis_titles[0]}},
               "yaxis": {**axis, "title": {"text": axis_titles[1]}},
               "zaxis": {**axis, "title": {"text": axis_titles[2]}},
               "aspectmode": "cube", "camera": {"eye": {"x": 1.5, "y": 1.5, "z": 1.0}}})
    return figure


def latent_map_png(coords: np.ndarray, labels: np.ndarray, errors: np.ndarray,
                   class_names: Sequence[str], colour_by: str = "label",
                   axis_titles: Sequence[str] = ("", ""), title: str = "") -> bytes:
    """The latent map as PNG bytes, drawn with matplotlib (Plotly's own PNG export needs
    kaleido, which Latent Lab does not ship); same colours as `latent_map`."""
    import io

    # A bare Figure (no pyplot) renders through Agg and touches no global state.
    from matplotlib.figure import Figure

    coords = np.asarray(coords, dtype=np.float32)
    labels = np.asarray(labels)
    figure = Figure(figsize=(8, 7), dpi=120)
    axes = figure.add_subplot()
    if colour_by == "error":
        errors = np.asarray(errors, dtype=np.float64)
        low, high = np.quantile(errors, [0.01, 0.99])
        points = axes.scatter(coords[:, 0], coords[:, 1], c=errors, s=4, cmap="cividis",
                              vmin=low, vmax=max(high, low + 1e-12), linewidths=0)
        figure.colorbar(points, ax=axes, label="MSE / pixel")
    else:
        for label in np.unique(labels):
            chosen = labels == label
            name = class_names[int(label)] if int(label) < len(class_names) else str(label)
            axes.scatter(coords[chosen, 0], coords[chosen, 1], s=4, linewidths=0,
                         color=CLASS_COLOURS[int(label) % len(CLASS_COLOURS)], label=name)
        axes.legend(markerscale=3, fontsize=8, loc="best", frameon=True)
    axes.set_xlabel(axis_titles[0])
    axes.set_ylabel(axis_titles[1])
    axes.set_title(title, fontsize=10)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def psnr_curves(levels: np.ndarray, curves: dict[str, np.ndarray], noise_name: str,
                height: int = 360, noun: str = "digit") -> go.Figure:
    """Mean PSNR (dB) against noise level, one line per model (and one for the noisy input);
    `noun` names one image of the kind shown ("digit", "garment")."""
    figure = go.Figure()
    for index, (name, values) in enumerate(curves.items()):
        dashed = name.startswith("corrupted input")
        figure.add_trace(go.Scatter(
            x=levels, y=values, mode="lines+markers", name=name,
            line={"color": "#777777" if dashed else SERIES_COLOURS[index % len(SERIES_COLOURS)],
                  "dash": "dot" if dashed else "solid"},
            hovertemplate=f"{name}<br>level %{{x:.2f}}<br>%{{y:.1f}} dB<extra></extra>"))
    figure.update_xaxes(title_text=f"{noise_name} level")
    figure.update_yaxes(title_text=f"PSNR against the clean {noun} (dB)")
    figure.update_layout(height=height, margin={"l": 10, "r": 10, "t": 10, "b": 10},
                         legend={"orientation": "h", "yanchor": "top", "y": -0.3})
    return figure


def error_histogram(normal_scores: np.ndarray, anomalous_scores: np.ndarray,
                    threshold: float, normal_name: str = "normal",
                    anomalous_name: str = "anomalous", log_x: bool = True,
                    height: int = 360) -> go.Figure:
    """Overlaid histograms of per-image reconstruction error, with the threshold drawn.

    On a log axis (the default) errors spanning decades stay readable.
    """
    def shown(values: np.ndarray) -> np.ndarray:
        values = np.asarray(values, dtype=np.float64)
        return np.log10(np.clip(values, 1e-8, None)) if log_x else values

    both = np.concatenate([shown(normal_scores), shown(anomalous_scores)])
    edges = np.histogram_bin_edges(both, bins=60)
    figure = go.Figure()
    for values, name, colour in ((normal_scores, normal_name, SERIES_COLOURS[0]),
                                 (anomalous_scores, anomalous_name, SERIES_COLOURS[5])):
        figure.add_trace(go.Histogram(
            x=shown(values), name=f"{name} ({len(values)})", opacity=0.6,
            marker={"color": colour}, histnorm="probability",
            xbins={"start": float(edges[0]), "end": float(edges[-1]),
                   "size": float(edges[1] - edges[0]) or 1.0}))
    line_x = float(shown(np.array([threshold]))[0])
    figure.add_vline(x=line_x, line={"color": "black", "dash": "dash", "width": 2},
                     annotation_text="threshold", annotation_position="top")
    figure.update_layout(barmode="overlay", height=height,
                         margin={"l": 10, "r": 10, "t": 30, "b": 10},
                         legend={"orientation": "h", "yanchor": "top", "y": -0.3})
    figure.update_xaxes(title_text="log10 reconstruction error (MSE / pixel)" if log_x
                        else "reconstruction error (MSE / pixel)")
    figure.update_yaxes(title_text="share of images")
    return figure


def roc_figure(fpr: np.ndarray, tpr: np.ndarray, auc: float,
               operating_point: tuple[float, float] | None = None,
               height: int = 360) -> go.Figure:
    """ROC curve (detection rate against false-alarm rate), chance diagonal, chosen point."""
    figure = go.Figure()
    figure.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="chance",
                                line={"color": "#999999", "dash": "dot"}))
    figure.add_trace(go.Scatter(x=fpr, y=tpr, mode="lines", name=f"ROC (AUC {auc:.3f})",
                                line={"color": SERIES_COLOURS[0], "width": 3}))
    if operating_point is not None:
        figure.add_trace(go.Scatter(
            x=[operating_point[0]], y=[operating_point[1]], mode="markers", name="threshold",
            marker={"size": 13, "color": SERIES_COLOURS[5], "symbol": "diamond"}))
    figure.update_xaxes(title_text="false-alarm rate", range=[-0.01, 1.01])
    figure.update_yaxes(title_text="detection rate", range=[-0.01, 1.01])
    figure.update_layout(height=height, margin={"l": 10, "r": 10, "t": 10, "b": 10},
                         legend={"orientation": "h", "yanchor": "top", "y": -0.3})
    return figure


def bottleneck_figure(series: dict[str, tuple[Sequence[int], Sequence[float]]],
                      pca: tuple[Sequence[int], Sequence[float]] | None = None,
                      height: int = 420) -> go.Figure:
    """Test MSE per pixel against latent size (log axes), one line per family, PCA dashed."""
    figure = go.Figure()
    if pca is not None:
        figure.add_trace(go.Scatter(
            x=list(pca[0]), y=list(pca[1]), mode="lines+markers", name="PCA (same size)",
            line={"color": "#555555", "dash": "dash"},
            hovertemplate="PCA, %{x} components<br>MSE %{y:.4f}<extra></extra>"))
    colours = {name: SERIES_COLOURS[index % len(SERIES_COLOURS)]
               for index, name in enumerate(series)}
    # Lines with many points first: a lone model's point (a β-VAE) is drawn on top of them.
    for name, (dims, errors) in sorted(series.items(), key=lambda item: -len(item[1][0])):
        order = np.argsort(np.asarray(dims))
        lone = len(dims) == 1
        figure.add_trace(go.Scatter(
            x=np.asarray(dims)[order], y=np.asarray(errors)[order], mode="lines+markers",
            name=name, marker={"size": 14 if lone else 9, "symbol": "diamond" if lone else "circle",
                               "line": {"color": "white", "width": 1.5 if lone else 0}},
            line={"color": colours[name], "width": 3},
            hovertemplate=f"{name}, latent %{{x}}<br>MSE %{{y:.4f}}<extra></extra>"))
    sizes = sorted({int(dim) for dims, _ in [*series.values(), *([pca] if pca else [])]
                    for dim in dims})
    figure.update_xaxes(title_text="latent size (numbers in the code)", type="log",
                        tickvals=sizes, ticktext=[str(size) for size in sizes],
                        minor={"showgrid": False})
    figure.update_yaxes(title_text="test MSE per pixel", type="log")
    figure.update_layout(height=height, margin={"l": 10, "r": 10, "t": 10, "b": 10},
                         legend={"orientation": "h", "y": -0.2})
    return figure


# --- Model zoo panels: codebook usage, per-dimension KL, the VQ code grid -----------------

UNUSED_COLOUR = "#BBBBBB"  # bars of dead codebook entries and collapsed dimensions


def codebook_usage_figure(frequencies: np.ndarray | torch.Tensor,
                          highlight: Sequence[int] = (), height: int = 260) -> go.Figure:
    """(K,) how often each codebook entry is chosen; dead entries grey, `highlight` in orange."""
    frequencies = np.asarray(frequencies, dtype=np.float64)
    total = frequencies.sum() or 1.0
    chosen = set(int(entry) for entry in highlight)
    colours = [UNUSED_COLOUR if count == 0 else
               SERIES_COLOURS[1] if entry in chosen else SERIES_COLOURS[0]
               for entry, count in enumerate(frequencies)]
    figure = go.Figure(go.Bar(
        x=np.arange(len(frequencies)), y=frequencies / total, marker={"color": colours},
        hovertemplate="entry %{x}<br>%{y:.2%} of all positions<extra></extra>"))
    figure.update_xaxes(title_text="codebook entry", dtick=8 if len(frequencies) > 16 else 1)
    figure.update_yaxes(title_text="share of positions", tickformat=".0%")
    figure.update_layout(height=height, margin={"l": 10, "r": 10, "t": 10, "b": 10},
                         showlegend=False, bargap=0.1)
    return figure


def kl_per_dimension_figure(kl: np.ndarray | torch.Tensor, threshold: float,
                            height: int = 280) -> go.Figure:
    """(D,) mean KL per latent dimension; those below `threshold` (collapsed) in grey."""
    kl = np.asarray(kl, dtype=np.float64)
    colours = [UNUSED_COLOUR if value < threshold else SERIES_COLOURS[0] for value in kl]
    figure = go.Figure(go.Bar(
        x=[f"z[{dimension}]" for dimension in range(len(kl))], y=kl,
        marker={"color": colours},
        hovertemplate="%{x}<br>KL %{y:.3g} nats<extra></extra>"))
    figure.add_hline(y=threshold, line={"color": "black", "dash": "dot", "width": 1},
                     annotation_text=f"unused below {threshold:g}",
                     annotation_position="top right")
    figure.update_yaxes(title_text="mean KL (nats)")
    figure.update_layout(height=height, margin={"l": 10, "r": 10, "t": 20, "b": 10},
                         showlegend=False)
    return figure


def code_grid_figure(indices: np.ndarray | torch.Tensor, selected: tuple[int, int],
                     changed: np.ndarray | torch.Tensor | None = None,
                     height: int = 300) -> go.Figure:
    """(G, G) codebook entry numbers as a labelled grid: changed cells tinted, `selected`
    (row, column) boxed."""
    indices = np.asarray(indices, dtype=np.int64)
    size = indices.shape[0]
    shade = np.zeros(indices.shape) if changed is None else np.asarray(changed, dtype=float)
    figure = go.Figure(go.Heatmap(
        z=shade, text=indices.astype(str), texttemplate="%{text}", zmin=0, zmax=1,
        colorscale=[[0, "#F4F4F4"], [1, "#FDD9A0"]], showscale=False, xgap=2, ygap=2,
        hovertemplate="row %{y}, column %{x}<br>entry %{text}<extra></extra>"))
    row, column = selected
    figure.add_shape(type="rect", x0=column - 0.5, x1=column + 0.5, y0=row - 0.5, y1=row + 0.5,
                     line={"color": SERIES_COLOURS[5], "width": 3})
    figure.update_xaxes(tickvals=list(range(size)), title_text="column", side="top")
    figure.update_yaxes(tickvals=list(range(size)), title_text="row", autorange="reversed",
                        scaleanchor="x")
    figure.update_layout(height=height, margin={"l": 10, "r": 10, "t": 10, "b": 10})
    return figure


def add_prior_layer(figure: go.Figure, coords: np.ndarray | torch.Tensor,
                    name: str = "prior samples") -> go.Figure:
    """(M, 2) samples of a model's prior as a light grey layer under the figure's own traces
    (no customdata, so a selection made on the map never picks them)."""
    coords = np.asarray(coords, dtype=np.float32)
    figure.add_trace(go.Scattergl(
        x=coords[:, 0], y=coords[:, 1], mode="markers", name=name, hoverinfo="skip",
        marker={"size": 4, "color": "rgba(150,150,150,0.35)"}))
    figure.data = (figure.data[-1], *figure.data[:-1])  # drawn first: under the codes
    return figure


def add_marked_point(figure: go.Figure, point: Sequence[float], name: str = "your drawing"
                     ) -> go.Figure:
    """One (x, y) point drawn on top of a map as a large star, with its own legend entry (no
    customdata, so a selection made on the map never picks it)."""
    figure.add_trace(go.Scatter(
        x=[float(point[0])], y=[float(point[1])], mode="markers", name=name,
        hovertemplate=f"<b>{name}</b><extra></extra>",
        marker={"symbol": "star", "size": 24, "color": "black",
                "line": {"width": 2, "color": "white"}}))
    return figure


def code_activation_histogram(codes: np.ndarray | torch.Tensor, bins: int = 60,
                              height: int = 260) -> go.Figure:
    """Histogram of every (N, D) code value: a sparse code piles up at zero."""
    values = np.asarray(codes, dtype=np.float64).ravel()
    figure = go.Figure(go.Histogram(
        x=values, nbinsx=bins, histnorm="percent", marker={"color": SERIES_COLOURS[0]},
        hovertemplate="activation %{x}<br>%{y:.1f}% of code values<extra></extra>"))
    figure.update_xaxes(title_text="code activation")
    figure.update_yaxes(title_text="% of code values", type="log")
    figure.update_layout(height=height, margin={"l": 10, "r": 10, "t": 10, "b": 10},
                         showlegend=False, bargap=0.05)
    return figure


def inactive_fraction_histogram(fractions: np.ndarray | torch.Tensor,
                                height: int = 260) -> go.Figure:
    """(N,) share of inactive units for each digit, its mean marked."""
    fractions = np.asarray(fractions, dtype=np.float64)
    figure = go.Figure(go.Histogram(
        x=fractions, xbins={"start": 0.0, "end": 1.0001, "size": 0.05}, histnorm="percent",
        marker={"color": SERIES_COLOURS[2]},
        hovertemplate="%{x:.0%} of units inactive<br>%{y:.1f}% of digits<extra></extra>"))
    mean = float(fractions.mean()) if len(fractions) else 0.0
    figure.add_vline(x=mean, line={"color": "black", "dash": "dot", "width": 1},
                     annotation_text=f"mean {mean:.0%}", annotation_position="top left")
    figure.update_xaxes(title_text="share of units inactive for a digit", tickformat=".0%",
                        range=[0, 1.0001])
    figure.update_yaxes(title_text="% of digits")
    figure.update_layout(height=height, margin={"l": 10, "r": 10, "t": 20, "b": 10},
                         showlegend=False, bargap=0.05)
    return figure


def units_by_class_figure(means: np.ndarray | torch.Tensor,
                          class_names: Sequence[str] | None = None,
                          height: int = 300) -> go.Figure:
    """(classes, D) mean activation of each unit per class as a heatmap: which units fire
    for which digit."""
    means = np.asarray(means, dtype=np.float64)
    names = list(class_names or [str(label) for label in range(means.shape[0])])
    figure = go.Figure(go.Heatmap(
        z=means, x=[f"z[{unit}]" for unit in range(means.shape[1])], y=names,
        colorscale="Blues", colorbar={"title": {"text": "mean"}},
        hovertemplate="class %{y}, %{x}<br>mean activation %{z:.3g}<extra></extra>"))
    figure.update_yaxes(title_text="class", autorange="reversed", type="category")
    figure.update_layout(height=height, margin={"l": 10, "r": 10, "t": 10, "b": 10})
    return figure
