"""Samples: new digits drawn from the model's prior, at a temperature, with a seed."""

from __future__ import annotations

import random

import streamlit as st

from ae_core.figures import grid_png
from ae_core.figures.lecture import projector_grid_png
from ae_core.sampling import FITTED, sample_digits
from ui.models import ActiveModel, model_cache, model_name, require_model
from ui.sources import (
    encoded,
    own_dataset,
    own_noun,
    own_source,
    wording,
)
from ui.widgets import guarded, refresh_with

SEED_KEY = "samples_seed"
EVERY_CLASS = -1  # the class picker's "every class" choice
MAX_SEED = 2**31 - 1
SCALE = 3  # screen pixels per digit pixel


def _new_seed() -> None:
    st.session_state[SEED_KEY] = random.randrange(MAX_SEED)


@model_cache(st.cache_data, show_spinner="Drawing digits…", max_entries=64)
def samples_png(model_key: str, source: str, _model: ActiveModel, count: int,
                temperature: float, seed: int, digit_class: int | None
                ) -> tuple[bytes, bytes, str, str, int]:
    """PNG grid of `count` samples (on screen, and at a projector's size), where they came
    from, the note and the grid's columns.
    Without a prior, codes come from a Gaussian fitted to the codes of `source` (own_source)."""
    net = _model.checkpoint.model
    codes = None if net.has_prior else encoded(_model, source).codes
    every_class = net.is_conditional and digit_class == EVERY_CLASS
    samples = sample_digits(net, count, temperature, seed, codes,
                            None if every_class else digit_class, every_class,
                            columns=count if every_class else None)
    png = grid_png(samples.images, columns=samples.columns, scale=SCALE)
    projector = projector_grid_png(samples.images, columns=samples.columns)
    return png, projector, samples.source, samples.note, samples.columns


st.title("Samples")
st.markdown("New images nobody drew: codes drawn at random from the model's **prior** and "
            "decoded. **Temperature** scales the prior's spread: near 0 every draw is the "
            "prior's most typical code, 1 is the prior the model was trained towards, above 1 "
            "codes the model rarely saw.")
model = require_model()
net = model.checkpoint.model
class_names = own_dataset(model).class_names
st.caption(f"This model learned from {own_noun(model)}: its samples are {own_noun(model)}.")
st.session_state.setdefault(SEED_KEY, 0)

controls, gallery = st.columns([1, 3], gap="large")
with controls:
    digit_class = None
    if net.is_conditional:
        choices = [EVERY_CLASS, *range(net.config.num_classes)]
        refresh_with("samples_class", class_names)
        digit_class = st.selectbox("Class", choices, key="samples_class",
                                   format_func=lambda c: "Every class (a row each)"
                                   if c == EVERY_CLASS else class_names[c],
                                   help="A conditional model draws the class you ask for.")
    if digit_class == EVERY_CLASS:
        count = st.slider("Samples per class", 1, 16, 8, key="samples_per_class",
                          help="Each column is one code, decoded as every class: one style.")
    else:
        count = st.slider("Samples", 1, 100, 36, key="samples_count")
    temperature = st.slider("Temperature", 0.0, 2.0, 1.0, 0.05, key="samples_temperature",
                            help="Scale of the prior's spread (for a VQ-VAE: sharpens or "
                                 "flattens each position's choice of codebook entry).")
    seed = st.number_input("Seed", 0, MAX_SEED, key=SEED_KEY,
                           help="The same seed draws the same digits.")
    st.button("New seed", on_click=_new_seed, key="samples_new_seed", icon=":material/casino:")

drawn = guarded("Sampling", samples_png, model.key, own_source(model), model, int(count),
                float(round(temperature, 2)), int(seed), digit_class)
if drawn is None:
    st.stop()
png, projector, source, note, columns = drawn
with gallery:
    if source == FITTED:
        note = wording(model)(note)
        st.info(note, icon=":material/info:")
    caption = (f"{note} Seed {seed}." if source != FITTED else
               f"Temperature {temperature:g}, seed {seed}.")
    st.image(png, output_format="PNG", caption=caption, width=(30 * columns - 2) * SCALE)
    name = model_name(model.label)  # the download is at a projector's size
    st.download_button("Download the grid (PNG)", projector, icon=":material/image:",
                       file_name=f"samples_{name}_t{temperature:g}_seed{seed}.png",
                       mime="image/png", key="samples_png", on_click="ignore")
