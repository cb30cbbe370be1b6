"""Bottleneck effect: reconstruction error against code size, the autoencoder beside PCA."""

from __future__ import annotations

from functools import partial

import pandas as pd
import streamlit as st

from ae_core.config import ModelConfig, TrainConfig
from ae_core.data import EMBEDDED
from ae_core.figures import bottleneck_figure
from ae_core.figures.images import grid_png
from ae_core.figures.lecture import PROJECTOR_PNG, projector_grid_png, rebuilt_by_size
from ae_core.kinds import KINDS, get_kind
from ae_core.metrics import angles_to_pca
from ae_core.models import REGISTRY, describe_family, family_title
from ae_core.sweep import bottleneck_sweep, code_width, pca_curve, reconstruction_mse
from ui.models import ActiveModel, active_model, model_by_label, model_cache, model_labels
from ui.precomputed import stored
from ui.sources import (
    available_sources,
    load_source,
    model_kind,
    set_label,
    source_images,
    source_kind,
    wording,
)
from ui.training import PROGRESS_SECONDS, split_data

PCA_COMPONENTS = (1, 2, 4, 8, 16, 32, 64, 128)
REBUILT_COUNT = 10  # images in each row of the rebuilt-at-each-size grid
SWEEP_SIZES = (1, 2, 4, 8, 16, 32, 64)
SWEEP_FAMILIES = ("ae", "conv_ae", "vae", "sparse_ae")
SWEEPS_KEY = "bottleneck_sweeps"  # list of {"name", "dims", "mse"} this session ran
# PCA is fitted on at most this many training images: all 4,500 embedded digits, 5,000 of
# Fashion-MNIST's 54,000 (the test error moves in the third digit; all of them take ~20 s).
PCA_FIT_IMAGES = 5000

st.title("Bottleneck effect")
say = wording(active_model())  # the words for the active model's kind of images
st.markdown(say(
    "The narrower the code, the less of the digit survives. **PCA** with as many components "
    "as the code has numbers is the linear baseline: a *linear* autoencoder trained with "
    "squared error learns the same subspace (Baldi & Hornik 1989), so only the non-linear "
    "layers can take an autoencoder below the dashed line."))

# The active model's own kind of images first; models are scored on images of their own kind.
active = active_model()
kinds = [active.kind] if active is not None and active.kind.name not in KINDS else []
kinds += sorted(KINDS.values(), key=lambda kind: active is None or kind != active.kind)
offered = tuple(source for kind in kinds for source in kind.held_out)
source = st.selectbox("Scored on", available_sources(offered), format_func=set_label,
                      key="bottleneck_source")
kind = source_kind(source).name
noun = get_kind(kind).plural
train_config_of_kind = TrainConfig(dataset=get_kind(kind).quick_train)  # what a sweep trains on


@st.cache_data(show_spinner="Fitting PCA…", max_entries=16)
def _pca(source: str, components: tuple[int, ...]) -> list[float]:
    """Test MSE of PCA at each size, fitted on the training images of the source's kind."""
    def fit() -> list[float]:
        train, _ = split_data(TrainConfig(dataset=source_kind(source).quick_train))
        return pca_curve(train.float_images()[:PCA_FIT_IMAGES], source_images(source),
                         components).tolist()

    return stored("pca_curve", (source, components, PCA_FIT_IMAGES), fit)


@model_cache(st.cache_data, show_spinner="Scoring the models…", max_entries=64)
def _model_mse(model_key: str, source: str, _model: ActiveModel) -> float:
    return stored("reconstruction_mse", (source,),
                  lambda: reconstruction_mse(_model.checkpoint.model, source_images(source),
                                             load_source(source).labels),
                  model_keys=(model_key,))


def _series_name(model: ActiveModel) -> str:
    """Models comparable on one line: the family, and what changes what the code keeps."""
    config, train = model.checkpoint.model_config, model.checkpoint.train_config
    name = family_title(config.family)
    if model.checkpoint.model.is_variational and config.beta != 1.0:
        name += f" β={config.beta:g}"
    if train is not None and train.denoising:
        name += " denoising"
    if model.checkpoint.model.is_conditional:
        name += " (also given the label)"
    return name


series: dict[str, tuple[list[int], list[float]]] = {}
lines: dict[str, dict[int, ActiveModel]] = {}  # series name -> code size -> its model
rows, off_axis, other_kind = [], [], []
for label in model_labels():
    model = model_by_label(label)
    if model is None:
        continue
    if model_kind(model) != kind:
        other_kind.append(label)  # a clothes model scored on digits says nothing, and back
        continue
    config = model.checkpoint.model_config
    if code_width(model.checkpoint.model) != config.latent_dim:
        off_axis.append(label)  # e.g. a VQ-VAE: a grid of discrete codes, not D numbers
        continue
    mse = _model_mse(model.key, source, model)
    lines.setdefault(_series_name(model), {})[config.latent_dim] = model
    dims, errors = series.setdefault(_series_name(model), ([], []))
    dims.append(config.latent_dim)
    errors.append(mse)
    rows.append({"model": label, "family": describe_family(config.family),
                 "latent size": config.latent_dim, "MSE / pixel": mse})
for sweep in st.session_state.get(SWEEPS_KEY, []):
    if sweep.get("kind", "mnist") != kind:
        continue
    series[sweep["name"]] = (sweep["dims"], sweep["mse"])
    angles = sweep.get("angles") or [None] * len(sweep["dims"])
    rows += [{"model": sweep["name"], "family": sweep["name"], "latent size": dim,
              "MSE / pixel": mse, "largest angle to PCA": angle}
             for dim, mse, angle in zip(sweep["dims"], sweep["mse"], angles, strict=True)]


@st.cache_data(show_spinner="Rebuilding at each size…", max_entries=16)
def _rebuilt(keys: tuple[tuple[int, str], ...], source: str,
             _models: dict[int, ActiveModel]) -> tuple:
    train, _ = split_data(TrainConfig(dataset=source_kind(source).quick_train))
    return rebuilt_by_size(source_images(source)[:REBUILT_COUNT],
                           {size: model.checkpoint.model for size, model in _models.items()},
                           train.float_images()[:PCA_FIT_IMAGES],
                           load_source(source).labels[:REBUILT_COUNT])


def rebuilt_at_each_size(lines: dict[str, dict[int, ActiveModel]], source: str) -> None:
    """The active model's line (or the longest one): the same images rebuilt at each of its
    code sizes, each beside PCA with as many components."""
    active = active_model()
    name = _series_name(active) if active is not None else None
    if name not in lines or len(lines[name]) < 2:
        name = max(lines, key=lambda line: len(lines[line]), default=None)
    if name is None:
        return
    models = lines[name]
    grid, rows = _rebuilt(tuple((size, model.key) for size, model in sorted(models.items())),
                          source, models)
    st.subheader(f"The same {noun}, rebuilt at each size")
    st.image(grid_png(grid, columns=REBUILT_COUNT, scale=3), output_format="PNG",
             caption=f"{name}, row by row: " + "; ".join(rows) + ".")
    st.download_button("PNG for a projector",  # made when clicked, not on every visit
                       partial(projector_grid_png, grid, columns=REBUILT_COUNT),
                       "rebuilt_at_each_size.png", "image/png", key="bottleneck_rebuilt_png",
                       icon=":material/download:", on_click="ignore")


# PCA at the standard sizes and at every size a model has, so each model has its baseline.
components = tuple(sorted({*PCA_COMPONENTS, *(dim for dims, _ in series.values() for dim in dims
                                              if dim <= 784)}))
pca = _pca(source, components)
st.plotly_chart(bottleneck_figure(series, (list(components), pca)), key="bottleneck_chart",
                config=PROJECTOR_PNG)
rebuilt_at_each_size(lines, source)  # the same images at each size, beside PCA's
if other_kind:
    st.caption(f"Trained on other images than {noun}, so not scored here: "
               f"{', '.join(other_kind)}.")
if off_axis:
    st.caption(f"Not on this axis: {', '.join(off_axis)} (their code is not a vector of "
               f"latent-size numbers, e.g. a VQ-VAE's grid of discrete codebook entries).")

if rows:
    table = pd.DataFrame(rows)
    pca_at = dict(zip(components, pca, strict=True))
    table["PCA MSE"] = [pca_at.get(dim) for dim in table["latent size"]]
    table["vs PCA"] = table["MSE / pixel"] / table["PCA MSE"]
    if "largest angle to PCA" in table:  # only a linear autoencoder has one: the rest say so
        table["largest angle to PCA"] = [
            "—" if pd.isna(angle) else f"{angle:.1f}°" for angle in table["largest angle to PCA"]]
    st.dataframe(table, hide_index=True, column_config={
        "MSE / pixel": st.column_config.NumberColumn(format="%.4f"),
        "PCA MSE": st.column_config.NumberColumn(format="%.4f"),
        "vs PCA": st.column_config.NumberColumn(format="%.2f×", help="below 1: beats PCA"),
        "largest angle to PCA": st.column_config.TextColumn(
            help="a linear autoencoder's largest principal angle between its "
                                 "decoder's subspace and PCA's: 0° is the same subspace")})
    st.download_button("Table (CSV)", table.to_csv(index=False).encode(),
                       "bottleneck.csv", "text/csv", icon=":material/table:",
                       key="bottleneck_csv", on_click="ignore")

st.subheader("Run a sweep")
with st.form("bottleneck_form"):
    family_column, size_column, epoch_column = st.columns([2, 3, 2])
    family = family_column.selectbox("Family", SWEEP_FAMILIES, key="bottleneck_family",
                                     format_func=describe_family)
    linear = family_column.checkbox(
        "Linear autoencoder instead", key="bottleneck_linear",
        help="One linear map each way, squared error, no squashing: it lands on the PCA line "
             "and spans PCA's subspace (the table gives the principal angles). About 20 "
             "epochs get there; at 5 the directions of nearly equal variance still turn.")
    sizes = size_column.multiselect("Latent sizes", SWEEP_SIZES, default=[2, 8, 32],
                                    key="bottleneck_sizes")
    epochs = epoch_column.slider("Epochs per model", 1, 30, 5, key="bottleneck_epochs")
    run = st.form_submit_button("Train and score", type="primary",
                                icon=":material/play_arrow:")
speed = ("the embedded digits: about a second per epoch and size on a laptop CPU; "
         "Fashion-MNIST's 60,000 take longer" if train_config_of_kind.dataset == EMBEDDED
         else "its whole training set: several seconds per epoch and size on a laptop CPU")
st.caption(f"One fresh model per size, trained on {train_config_of_kind.dataset} ({speed}). "
           f"The result stays in this session.")

if run:
    if not sizes:
        st.error("Pick at least one latent size.")
        st.stop()
    family = "linear_ae" if linear else family
    # A linear model takes a 20x larger step than the default, with a cosine decay: the slow
    # directions (nearly equal variance) still settle within a few epochs.
    train_config = (TrainConfig(epochs=int(epochs), lr=2e-2, lr_schedule="cosine",
                                dataset=train_config_of_kind.dataset) if linear
                    else TrainConfig(epochs=int(epochs), dataset=train_config_of_kind.dataset))
    bar = st.progress(0.0, "Starting…")
    points = bottleneck_sweep(sizes, ModelConfig(family=family), train_config,
                              source_images(source), load_source(source).labels, bar.progress,
                              progress_seconds=PROGRESS_SECONDS)
    angles = None
    if REGISTRY[family].is_linear:  # how far its subspace is from PCA's, per size
        train, _ = split_data(train_config_of_kind)
        angles = [float(angles_to_pca(point.model.decoder_basis(), train.float_images())[0])
                  for point in points]
    name = f"sweep: {family_title(family)}, {epochs} epochs, {noun}"
    sweeps = [sweep for sweep in st.session_state.get(SWEEPS_KEY, []) if sweep["name"] != name]
    sweeps.append({"name": name, "dims": [point.latent_dim for point in points],
                   "mse": [point.mse for point in points], "angles": angles, "kind": kind})
    st.session_state[SWEEPS_KEY] = sweeps
    st.rerun()

if st.session_state.get(SWEEPS_KEY):
    st.button("Clear my sweeps", key="bottleneck_clear", icon=":material/delete:",
              on_click=lambda: st.session_state.pop(SWEEPS_KEY, None))
