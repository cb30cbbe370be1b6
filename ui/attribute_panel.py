"""Attribute directions of the active model for the pages (ae_core.attributes): the sliders
page's "thickness", "slant" and "width" sliders, and what a step along each does, measured.

Directions take a moment (the codes' covariance with each measurement, and a ridge regression
for R²; the embedded digits' measurements are stored in checkpoints/attributes). Effects need
decodes measured: stored for the shipped models by scripts/store_attributes.py, measured on a
visit for any other model (cached).
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from ae_core.attributes import (
    SLIDER_ATTRIBUTES,
    AttributeDirection,
    AttributeEffect,
    attribute_effects,
    class_direction,
    class_means,
    fit_directions,
    measure_dataset,
    project,
    stored_effects,
    stored_measurements,
)
from ae_core.disentanglement import Disentanglement, measure_disentanglement
from ae_core.figures.attributes import attribute_axes_map, information_heatmap
from ae_core.figures.lecture import PROJECTOR_PNG
from ae_core.morphometry import MEASUREMENTS, UNITS
from ae_core.smoothness import ImageProbe
from ui.models import SHIPPED_PREFIX, ActiveModel, model_by_label, model_cache
from ui.sources import (
    SOURCES,
    encoded,
    load_source,
    own_codes,
    own_dataset,
    own_noun,
    own_source,
    source_images,
)

SLIDER_SDS = 3.0  # attribute sliders run from -3 to +3 standard deviations
SERVER_STEPS = 25  # the server path's attribute sliders: steps of 0.25 SD
PROBE_IMAGES = 5000  # as the AE-vs-VAE page's judge and scripts/store_attributes.py


def has_attributes(model: ActiveModel) -> bool:
    """Stroke measurements mean something for digits only."""
    return own_dataset(model).kind == "mnist"


@model_cache(show_spinner="Measuring the digits' strokes and finding their directions…",
             max_entries=16)
def _directions(model_key: str, source: str, _model: ActiveModel
                ) -> dict[str, AttributeDirection]:
    values = measure_dataset(load_source(source))
    return fit_directions(own_codes(_model).codes.numpy(), values)


def model_directions(model: ActiveModel) -> dict[str, AttributeDirection] | None:
    """Each measurement's direction in the model's code space, or None for non-digits."""
    if not has_attributes(model):
        return None
    return _directions(model.key, own_source(model), model)


@st.cache_resource(show_spinner="Training the judge (a probe of real digits' pixels)…")
def _probe(source: str) -> ImageProbe:
    labels = load_source(source).labels[:PROBE_IMAGES]
    return ImageProbe().fit(source_images(source)[:PROBE_IMAGES], labels)


@model_cache(show_spinner="Measuring what a step along each direction does…", max_entries=16)
def _effects(model_key: str, source: str, _model: ActiveModel) -> dict[str, AttributeEffect]:
    path = _model.checkpoint.path
    stored = stored_effects(path) if path is not None else None
    if stored is not None:
        return stored
    directions = _directions(model_key, source, _model)
    encoded = own_codes(_model)
    return attribute_effects(_model.checkpoint.model, encoded.codes, encoded.labels,
                             directions, _probe(source))


def model_effects(model: ActiveModel) -> dict[str, AttributeEffect] | None:
    if not has_attributes(model):
        return None
    return _effects(model.key, own_source(model), model)


def slider_attributes(model: ActiveModel) -> list[dict]:
    """What the browser's attribute sliders need: a name, the 1-SD vector, the range, help."""
    directions = model_directions(model)
    if directions is None:
        return []
    return [{"name": name, "sds": SLIDER_SDS,
             "vector": [round(float(value), 6)
                        for value in directions[name].direction * directions[name].code_sd],
             "help": f"Moves the whole code along the direction that best predicts the "
                     f"{name} (R² {directions[name].r2:.2f}), in standard deviations of the "
                     f"codes along it"}
            for name in SLIDER_ATTRIBUTES]


def has_stored_effects(model: ActiveModel) -> bool:
    path = model.checkpoint.path
    return path is not None and stored_effects(path) is not None


def effects_panel(model: ActiveModel) -> None:
    """A table: per attribute slider, R², the measured change of +1 SD, the class kept. Stored
    for the shipped models; measured on request for any other (a few seconds)."""
    directions = model_directions(model)
    if directions is None:
        return
    asked = st.session_state.get("sliders_effects_asked") == model.key
    if not has_stored_effects(model) and not asked:
        st.button("Measure what the thickness, slant and width sliders do", key="sliders_"
                  "measure_effects", icon=":material/straighten:",
                  on_click=lambda: st.session_state.update(sliders_effects_asked=model.key),
                  help="Decodes 300 digits before and after a +1 SD step along each and "
                       "measures them (a few seconds)")
        return
    effects = model_effects(model)
    st.markdown("**What the thickness, slant and width sliders do, measured.** Each moves the "
                "whole code along the line the digits' codes follow as that measurement "
                "(Morpho-MNIST's definitions) grows: their covariance with it.")
    rows = []
    for name in SLIDER_ATTRIBUTES:
        direction, effect = directions[name], effects[name]
        rows.append({
            "slider": name,
            "R², whole code": round(direction.r2, 2),
            "R², along the line": round(direction.r2_along, 2),
            "+1 SD changes the decodes by": (
                f"{effect.change:+.2f} {direction.unit} ({effect.change_sd:+.2f} SD of real "
                f"digits)"),
            "class kept (pixel probe)": f"{effect.class_kept:.0%}",
        })
    st.dataframe(rows, hide_index=True, key="sliders_attribute_effects")
    count = next(iter(effects.values())).images
    thickness = effects["thickness"]
    st.caption(
        f"Measured on {count} digits' decodes before and after a +1 SD step: moving +1 SD "
        f"along the thickness direction changes the measured thickness of the decodes by "
        f"{thickness.change:+.2f} px (median), and a logistic regression on real digits' "
        f"pixels reads the same class before and after in {thickness.class_kept:.0%} of them. "
        f"R², whole code: how much of a measurement a ridge regression reads from the whole "
        f"code; along the line: from the position along the slider's line alone (both on a "
        f"held-out fifth of the {own_noun(model)}).")


def attribute_key(name: str, revision: int) -> str:
    """A new widget whenever the page sets the code: it starts again at 0."""
    return f"sliders_attribute_{name}_{revision}"


def server_attribute_sliders(model: ActiveModel, code_key: str, revision: int,
                             on_code) -> None:
    """The server path's thickness / slant / width sliders: a step moves the code (in
    session state under `code_key`) by the change times the 1-SD vector and hands the new
    code to `on_code`; they return to 0 whenever the page sets the code (a new `revision`)."""
    attributes = slider_attributes(model)
    if not attributes:
        return

    def moved(key: str, vector: list[float]) -> None:
        step = st.session_state[key] - st.session_state.get(key + "_at", 0.0)
        st.session_state[key + "_at"] = st.session_state[key]
        code = st.session_state[code_key]
        on_code([float(value) + step * weight
                 for value, weight in zip(code.tolist(), vector, strict=True)])

    columns = st.columns(len(attributes))
    for column, attribute in zip(columns, attributes, strict=True):
        key = attribute_key(attribute["name"], revision)
        steps = [round(float(value), 2) for value in
                 np.linspace(-attribute["sds"], attribute["sds"], SERVER_STEPS)]
        column.select_slider(attribute["name"], steps, value=0.0, key=key,
                             format_func=lambda value: f"{value:+.2f} SD", on_change=moved,
                             args=(key, attribute["vector"]), help=attribute["help"])


DISENTANGLEMENT_MODELS = ("ae_32", "vae_20", "beta_vae_20")  # the tutorials' comparison


@model_cache(st.cache_data, show_spinner="Measuring what each code dimension tells…",
             max_entries=16)
def _disentanglement(model_key: str, source: str, _model: ActiveModel) -> Disentanglement:
    digits = load_source(source)
    return measure_disentanglement(encoded(_model, source).codes.numpy(),
                                   measure_dataset(digits), digits.labels.numpy())


def disentanglement_section() -> None:
    """Heat maps of ae_32, vae_20 and beta_vae_20 side by side, and the tutorials' claim (a
    beta-VAE is more disentangled) stated with what they show."""
    models = {name: model_by_label(SHIPPED_PREFIX + name) for name in DISENTANGLEMENT_MODELS}
    models = {name: model for name, model in models.items() if model is not None}
    if not models or "embedded" not in SOURCES:
        return
    st.subheader("Disentanglement: what one code dimension alone tells")
    st.markdown(
        "The tutorials say a beta-VAE (beta > 1) is *more disentangled*: each factor of "
        "variation in a dimension of its own. Here these three models are scored on the "
        "embedded digits: each image's factors are measured (Morpho-MNIST's stroke "
        "measurements, and its class), and each cell says how much of a factor's "
        "entropy one dimension alone carries (mutual information, 20 bins, as "
        "disentanglement_lib). A factor's MIG is the gap between its two most informative "
        "dimensions: 1 would be one dimension for it and none other.")
    scores = {name: _disentanglement(model.key, "embedded", model)
              for name, model in models.items()}
    columns = st.columns(len(scores))
    for column, (name, score) in zip(columns, scores.items(), strict=True):
        with column:
            st.plotly_chart(information_heatmap(score.normalised, score.factors, score.gaps,
                                                f"{name} · MIG {score.mig:.3f}"),
                            key=f"ae_vs_vae_disentanglement_{name}",
                            config={**PROJECTOR_PNG, "displaylogo": False})
    st.dataframe([{"model": name, "MIG (mean)": round(score.mig, 3),
                   **{factor: round(float(gap), 3)
                      for factor, gap in zip(score.factors, score.gaps, strict=True)}}
                  for name, score in scores.items()], hide_index=True)
    st.markdown(claim_sentence({name: score.mig for name, score in scores.items()}))


def claim_sentence(migs: dict[str, float]) -> str:
    """The tutorials' claim, as these numbers answer it (whichever way they fall)."""
    if "beta_vae_20" not in migs or "vae_20" not in migs:
        return ""
    beta, plain = migs["beta_vae_20"], migs["vae_20"]
    verdict = ("holds here, if only just" if 0 < beta - plain < 0.05 else
               "holds here" if beta > plain else "does not hold here")
    sentence = (f"**The claim {verdict}:** beta_vae_20's MIG is {beta:.3f} against vae_20's "
                f"{plain:.3f}")
    if "ae_32" in migs:
        sentence += f" and the plain autoencoder ae_32's {migs['ae_32']:.3f}"
    return (sentence + ". Every MIG here is far below 1: no model puts a factor in one "
            "dimension of its own, and these are one trained model each: in a small beta "
            "sweep on the embedded digits (docs/disentanglement.md, scripts/beta_sweep.py) "
            "the seed alone moved a MIG by up to 0.03; beta 8 had the highest mean, its "
            "range still touching beta 1's.")


CLASS_AXIS = "class to class"


def axis_picker(axis: str, default: str, class_names: tuple[str, ...]) -> tuple:
    """One axis of the custom map: a measurement's name, or (CLASS_AXIS, from, to)."""
    options = [*MEASUREMENTS, CLASS_AXIS]
    choice = st.selectbox(f"{axis} axis", options, index=options.index(default),
                          key=f"latent_map_axis_{axis}")
    if choice != CLASS_AXIS:
        return (choice,)
    first, second = st.columns(2)
    source = first.selectbox("from", range(len(class_names)), index=3 if axis == "x" else 1,
                             format_func=lambda k: class_names[k],
                             key=f"latent_map_axis_{axis}_from")
    target = second.selectbox("to", range(len(class_names)), index=8 if axis == "x" else 7,
                              format_func=lambda k: class_names[k],
                              key=f"latent_map_axis_{axis}_to")
    return (CLASS_AXIS, source, target)


def axis_values(axis: tuple, codes: np.ndarray, labels: np.ndarray,
                directions: dict[str, AttributeDirection], class_names: tuple[str, ...]
                ) -> tuple[np.ndarray, str]:
    """(N,) positions along the chosen axis and its title."""
    if axis[0] == CLASS_AXIS:
        _, source, target = axis
        if source == target:
            return np.zeros(len(codes)), f"{class_names[source]} → itself (pick two classes)"
        step = class_direction(codes, labels, source, target)
        origin = class_means(codes, labels)[source]
        return (project(codes - origin, step),
                f"{class_names[source]} → {class_names[target]} (0: mean {class_names[source]}"
                f", 1: mean {class_names[target]})")
    direction = directions[axis[0]]
    position = codes @ direction.direction
    return ((position - position.mean()) / direction.code_sd,
            f"{axis[0]} direction (SD) · R² along it {direction.r2_along:.2f}")


def custom_axes_section(model: ActiveModel, source: str, codes: np.ndarray,
                        labels: np.ndarray, class_names: tuple[str, ...]) -> None:
    """The codes on axes that mean something: attribute or class-to-class directions."""
    if load_source(source).kind != "mnist":
        return
    st.subheader("Axes that mean something")
    values = stored_measurements(load_source(source))
    if values is None or len(values) != len(codes):
        st.caption(f"Custom axes need the digits' stroke measurements, stored for the "
                   f"{SOURCES['embedded']}: pick them under *Images* above.")
        return
    st.markdown("Instead of UMAP or PCA, each axis can be a direction in the code space: the "
                "line along which a stroke measurement grows (in standard deviations of the "
                "codes along it), or the line from one class's mean code to another's. "
                "**Hover** a point for its measured values.")
    directions = _directions(model.key, source, model)
    x_column, y_column = st.columns(2)
    with x_column:
        x_axis = axis_picker("x", "thickness", class_names)
    with y_column:
        y_axis = axis_picker("y", "slant", class_names)
    x, x_title = axis_values(x_axis, codes, labels, directions, class_names)
    y, y_title = axis_values(y_axis, codes, labels, directions, class_names)
    st.plotly_chart(attribute_axes_map(np.column_stack([x, y]), labels, class_names, values,
                                       MEASUREMENTS, [UNITS[name] for name in MEASUREMENTS],
                                       (x_title, y_title),
                                       f"{len(codes):,} digits on custom axes"),
                    key="latent_map_custom_axes", config={**PROJECTOR_PNG, "displaylogo": False})
