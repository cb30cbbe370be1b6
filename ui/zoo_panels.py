"""Sliders-page panels for particular model families: the VQ-VAE codebook editor, the
per-dimension KL of a variational model, a sparse model's inactive units, and a conditional
model's ten-class grid."""

from __future__ import annotations

import streamlit as st
import torch

from ae_core.figures import (
    code_activation_histogram,
    code_grid_figure,
    codebook_usage_figure,
    grid_png,
    image_png,
    inactive_fraction_histogram,
    kl_per_dimension_figure,
    units_by_class_figure,
)
from ae_core.figures.lecture import PROJECTOR_PNG
from ae_core.latent import decode_codes
from ae_core.models.vae import UNUSED_KL_THRESHOLD, per_dimension_kl, unused_dimensions
from ae_core.sparsity import INACTIVE_SHARE, fraction_inactive, units_by_class
from ui.models import ActiveModel, model_cache
from ui.sources import (
    load_source,
    own_codes,
    own_dataset,
    own_source,
    set_label,
    source_images,
    wording,
)
from ui.widgets import guarded

KL_DIGITS = 1000  # images (the model's own, ui.sources) the per-dimension KL is averaged over
VQ_INDICES_KEY = "sliders_vq_indices"  # the edited code: (positions,) entry numbers, a list
VQ_START_KEY = "sliders_vq_start"  # the chosen digit's own entries, for the reset
VQ_ORIGIN_KEY = "sliders_vq_origin"  # (model key, digit index) the edited code started from
VQ_ROW_KEY, VQ_COLUMN_KEY, VQ_ENTRY_KEY = "sliders_vq_row", "sliders_vq_column", "sliders_vq_entry"


def has_codebook(net: torch.nn.Module) -> bool:
    """True for a family with a discrete code (VQ-VAE): entry numbers in, images out."""
    return net.has_codebook


def has_posterior(net: torch.nn.Module) -> bool:
    """True for a variational family whose posterior is a Gaussian we can measure KL of."""
    return net.is_variational


# Cached measurements -------------------------------------------------------------------------


@model_cache(show_spinner="Counting codebook use over the images…", max_entries=8)
def codebook_frequencies(model_key: str, source: str, _model: ActiveModel) -> torch.Tensor:
    """(K,) how many grid positions of the model's own images (`source`) chose each entry."""
    with torch.inference_mode():
        return _model.checkpoint.model.code_counts(source_images(source)).sum(dim=0).cpu()


@model_cache(show_spinner="Measuring KL per dimension…", max_entries=16)
def kl_per_dimension(model_key: str, source: str, _model: ActiveModel) -> torch.Tensor:
    """(D,) mean KL(q(z_d|x) || N(0, 1)) over the first KL_DIGITS of the model's own images."""
    images = source_images(source)[:KL_DIGITS]
    labels = load_source(source).labels[:KL_DIGITS]
    return per_dimension_kl(_model.checkpoint.model, images, labels).cpu()


# VQ-VAE codebook editor ----------------------------------------------------------------------


def _position() -> int:
    size = st.session_state.get("sliders_vq_grid_size", 1)
    return int(st.session_state[VQ_ROW_KEY]) * size + int(st.session_state[VQ_COLUMN_KEY])


def _follow_position() -> None:
    """The entry widget shows what the chosen position holds."""
    st.session_state[VQ_ENTRY_KEY] = st.session_state[VQ_INDICES_KEY][_position()]


def _set_entry() -> None:
    st.session_state[VQ_INDICES_KEY][_position()] = int(st.session_state[VQ_ENTRY_KEY])


def _set_indices(indices: list[int]) -> None:
    st.session_state[VQ_INDICES_KEY] = list(indices)
    _follow_position()


def _sample_prior(net) -> None:
    """A code grid drawn from the model's prior (learned, or each position's frequencies)."""
    with torch.inference_mode():
        vectors = net.sample_prior(1).view(1, net.positions, net.embedding_dim)
        _set_indices(net.nearest_entries(vectors)[0].tolist())
    st.session_state["sliders_vq_from_prior"] = True


def vq_editor(model: ActiveModel, index: int, original: torch.Tensor) -> None:
    """The chosen digit's grid of codebook entries, editable one position at a time."""
    net = model.checkpoint.model
    if st.session_state.get(VQ_ORIGIN_KEY) != (model.key, index) or \
            VQ_INDICES_KEY not in st.session_state:
        with torch.inference_mode():
            start = net.code_indices(original.unsqueeze(0))[0].tolist()
        st.session_state[VQ_START_KEY] = start
        st.session_state[VQ_ORIGIN_KEY] = (model.key, index)
        st.session_state["sliders_vq_grid_size"] = net.grid_size
        for key in (VQ_ROW_KEY, VQ_COLUMN_KEY):  # kept across digits, within the grid
            if not 0 <= st.session_state.get(key, -1) < net.grid_size:
                st.session_state[key] = net.grid_size // 2
        st.session_state.pop("sliders_vq_from_prior", None)
        _set_indices(start)
    st.subheader("Codebook editor")
    size, entries = net.grid_size, net.config.codebook_size
    st.markdown(wording(model)(
        f"A VQ-VAE's code is a **{size}×{size} grid of codebook entries** (numbers "
        f"0–{entries - 1}), each standing for one {net.embedding_dim}-D vector the "
        "decoder reads. Pick a position and swap its entry: the digit changes there."))
    _vq_fragment(model, original)

    frequencies = codebook_frequencies(model.key, own_source(model), model)
    used = int((frequencies > 0).sum())
    st.markdown(f"**Codebook use** over the {set_label(own_source(model))}: "
                f"**{used} of {entries}** "
                f"entries used, **{entries - used}** dead (never the nearest). Orange: the "
                "entries of the code above.")
    st.plotly_chart(codebook_usage_figure(frequencies, st.session_state[VQ_INDICES_KEY]),
                    key="sliders_vq_usage", config={**PROJECTOR_PNG, "displaylogo": False})


@st.fragment
def _vq_fragment(model: ActiveModel, original: torch.Tensor) -> None:
    """Position, entry and the decoded digit: changing an entry reruns only this."""
    net = model.checkpoint.model
    size, entries = net.grid_size, net.config.codebook_size
    indices = st.session_state[VQ_INDICES_KEY]
    start = st.session_state[VQ_START_KEY]
    grid, controls, pictures = st.columns([3, 2, 3], gap="medium")
    with controls:
        row, column = st.columns(2)
        row.selectbox("Row", range(size), key=VQ_ROW_KEY, on_change=_follow_position)
        column.selectbox("Column", range(size), key=VQ_COLUMN_KEY, on_change=_follow_position)
        # A number input, not a slider: the page's sliders stay the code's continuous numbers.
        st.number_input(f"Codebook entry (0–{entries - 1})", 0, entries - 1, key=VQ_ENTRY_KEY,
                        on_change=_set_entry,
                        help=wording(model)("The entry at the chosen position; the decoded "
                                            "digit follows."))
        st.button(wording(model)("Reset to the digit"), key="sliders_vq_reset",
                  on_click=_set_indices,
                  args=(start,), icon=":material/restart_alt:")
        st.button("Sample from the prior", key="sliders_vq_prior", on_click=_sample_prior,
                  args=(net,), icon=":material/casino:",
                  help=f"A new code grid drawn from the model's prior {net.prior_name}.")
    changed = [a != b for a, b in zip(indices, start, strict=True)]
    with grid:
        st.plotly_chart(code_grid_figure(
            torch.tensor(indices).view(size, size),
            (int(st.session_state[VQ_ROW_KEY]), int(st.session_state[VQ_COLUMN_KEY])),
            torch.tensor(changed, dtype=torch.float32).view(size, size)),
            key="sliders_vq_grid",
            config={**PROJECTOR_PNG, "displaylogo": False, "staticPlot": True})
        st.caption(f"{sum(changed)} of {len(indices)} positions changed (tinted); the box is "
                   "the chosen position.")
    with torch.inference_mode():
        decoded = guarded("Decoding the entries", net.decode_indices,
                          torch.tensor(indices).unsqueeze(0))
    with pictures:
        left, right = st.columns(2)
        left.image(image_png(original, scale=6), caption=wording(model)("The digit"),
                   output_format="PNG")
        if decoded is not None:
            caption = ("Sampled from the prior"
                       if st.session_state.get("sliders_vq_from_prior") and any(changed)
                       else "Decoded from the entries")
            right.image(image_png(decoded[0], scale=6), caption=caption, output_format="PNG")


# Variational models: KL per dimension ------------------------------------------------------


def kl_panel(model: ActiveModel) -> None:
    """Bar chart of each dimension's KL, collapsed ones greyed and counted; a beta note."""
    net = model.checkpoint.model
    if not has_posterior(net):
        return
    st.subheader("Which dimensions carry information?")
    kl = guarded("Measuring the KL per dimension", kl_per_dimension, model.key,
                 own_source(model), model)
    if kl is None:
        return
    unused = unused_dimensions(kl)
    dims = len(kl)
    st.plotly_chart(kl_per_dimension_figure(kl, UNUSED_KL_THRESHOLD),
                    key="sliders_kl_chart", config={**PROJECTOR_PNG, "displaylogo": False})
    total = float(kl.sum())
    if unused:
        listed = ", ".join(f"z[{d}]" for d in unused[:12]) + ("…" if len(unused) > 12 else "")
        st.markdown(f"**{len(unused)} of {dims} dimensions unused**: the model collapsed them "
                    f"to the prior ({listed}). Their posterior is N(0, 1) whatever the image, "
                    "so their sliders barely change the picture.")
    else:
        st.markdown(f"**All {dims} dimensions in use** (each above {UNUSED_KL_THRESHOLD:g} "
                    "nats).")
    st.caption(f"Mean KL(q(z|x) ‖ N(0, I)) of each dimension over the first "
               f"{min(KL_DIGITS, len(own_dataset(model))):,} of the "
               f"{set_label(own_source(model))}; "
               f"{total:.1f} nats in all. Grey bars are below "
               f"{UNUSED_KL_THRESHOLD:g} nats: posterior collapse.")
    beta = float(net.config.beta)
    if beta != 1.0:
        direction = ("Higher" if beta > 1 else "Lower")
        st.info(f"This model was trained with **β = {beta:g}** (a β-VAE, Higgins et al. 2017): "
                "the KL term weighs β times as much. Higher β buys a tidier, more disentangled "
                "latent space (each dimension closer to independent) at the price of blurrier "
                "reconstructions, and pushes more dimensions into collapse. "
                f"{direction} than 1 here: compare with a β = 1 model of the same size.",
                icon=":material/balance:")


# Sparse models: how many units stay off, and which fire for which digit -------------------


def sparsity_panel(model: ActiveModel) -> None:
    """Histogram of code values, share of inactive units per digit, units x classes heatmap."""
    net = model.checkpoint.model
    if not net.is_sparse:
        return
    st.subheader("How sparse is the code?")
    encoded = guarded("Encoding the images", own_codes, model)
    if encoded is None:
        return
    fractions = fraction_inactive(encoded.codes)
    units = encoded.codes.shape[1]
    st.markdown(f"**{float(fractions.mean()):.0%} of the {units} units are inactive** for a "
                f"typical image (mean over the {set_label(own_source(model))}; median "
                f"{float(fractions.median()):.0%}).")
    left, right = st.columns(2)
    with left:
        st.plotly_chart(code_activation_histogram(encoded.codes), key="sliders_sparse_values",
                        config={**PROJECTOR_PNG, "displaylogo": False})
        st.caption("Every code value of every image (log scale): a sparse code piles up at 0.")
    with right:
        st.plotly_chart(inactive_fraction_histogram(fractions), key="sliders_sparse_inactive",
                        config={**PROJECTOR_PNG, "displaylogo": False})
        st.caption(f"A unit is inactive for an image below {INACTIVE_SHARE:g} × its largest "
                   "activation over the images.")
    st.plotly_chart(units_by_class_figure(units_by_class(encoded.codes, encoded.labels),
                                          own_dataset(model).class_names),
                    key="sliders_sparse_classes", config={**PROJECTOR_PNG, "displaylogo": False})
    st.caption("Mean activation of each unit for each class: which units fire for which "
               "class.")


# Conditional models: one code, every class ---------------------------------------------------


def class_grid(net, code: torch.Tensor) -> None:
    """One row: the current (D,) code decoded as each class."""
    classes = int(net.config.num_classes)
    images = guarded("Decoding the code as every class", decode_codes, net,
                     code.unsqueeze(0).repeat(classes, 1), torch.arange(classes))
    if images is not None:
        st.image(grid_png(images, columns=classes, scale=3), output_format="PNG",
                 caption="The same code drawn as every class: the code holds the style, the "
                         "label picks the digit.")
