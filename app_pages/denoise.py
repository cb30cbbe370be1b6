"""Denoising: corrupt images, let two or more models rebuild them, compare PSNR and SSIM. The
images are the active model's own kind (ui.sources.normal_sources): digits, or clothes."""

from __future__ import annotations

from functools import partial

import numpy as np
import pandas as pd
import streamlit as st
import torch

from ae_core.figures import grid_png, psnr_curves
from ae_core.figures.lecture import PROJECTOR_PNG, projector_grid_png
from ae_core.metrics import psnr, ssim
from ae_core.noise import corrupt
from ae_core.sweep import corrupted_copies, denoise, input_psnr, noise_levels, psnr_against_noise
from ui.models import model_by_label, model_cache, model_labels, model_name, require_model
from ui.plain_text import inert
from ui.precomputed import stored
from ui.sources import (
    available_sources,
    load_source,
    normal_sources,
    set_label,
    source_kind,
    wording,
)
from ui.sources import say as say_of
from ui.widgets import refresh_with

CORRUPTIONS = {"gaussian": "Gaussian noise", "salt_pepper": "Salt and pepper",
               "mask": "Masked block"}
LEVEL_HELP = {"gaussian": "standard deviation of the added noise",
              "salt_pepper": "share of pixels set to black or white",
              "mask": "share of the image hidden under a black square"}
CURVE_DIGITS = 300  # digits behind each point of the PSNR curve
SEED_KEY = "denoise_seed"

st.title("Denoising")
active = require_model()
say = wording(active)  # the words for the active model's kind of images
st.markdown(say(
    "Corrupt a few digits, then ask each model to rebuild them. A **denoising autoencoder** "
    "was trained on corrupted inputs with clean targets (Vincent et al. 2008), so it learned "
    "to ignore noise; a plain one rebuilds some of the noise along with the digit. **PSNR** "
    "(higher is better) compares pixels; **SSIM** (1 is perfect) compares local structure."))


def _same_kind(label: str) -> bool:
    model = model_by_label(label)
    return model is not None and model.kind.name == active.kind.name


def _default_models(labels: list[str]) -> list[str]:
    """The active model and, if there is one of its kind of images, a denoising model (else
    another model of its kind) to compare it with."""
    others = [label for label in labels if label != active.label and _same_kind(label)]
    denoisers = [label for label in others if "dae" in label.lower() or "denois" in label.lower()]
    return [active.label, *(denoisers or others)[:1]]


labels = model_labels()
if st.session_state.get("denoise_models_for") != active.label:  # another active model
    st.session_state["denoise_models_for"] = active.label
    st.session_state["denoise_models"] = _default_models(labels)
# A model that went away (another session's upload, a deleted file) leaves the selection.
st.session_state["denoise_models"] = [label for label in st.session_state["denoise_models"]
                                      if label in labels]

left, middle, right = st.columns([3, 2, 2])
chosen = left.multiselect("Models to compare", labels, key="denoise_models",
                          help="Shipped checkpoints and the ones you trained or uploaded.")
# The active model's own kind of images it never trained on, the embedded held-out digits
# where those are not on this machine.
sources = normal_sources(active) or available_sources(("heldout",))
if st.session_state.get("denoise_source") not in sources:  # another model, another kind
    st.session_state.pop("denoise_source", None)
source = left.selectbox("Images from", sources, format_func=set_label, key="denoise_source")
dataset = load_source(source)
kind = middle.radio("Corruption", list(CORRUPTIONS), format_func=CORRUPTIONS.get,
                    key="denoise_kind")
level = middle.slider("Level", 0.0, 1.0, 0.3 if kind != "mask" else 0.2, 0.05,
                      key=f"denoise_level_{kind}", help=LEVEL_HELP[kind])
clip = kind != "gaussian" or middle.checkbox(
    say("Clip the noisy digit to [0, 1]"), value=True, key="denoise_clip",
    help=say("The tutorials add Gaussian noise without clipping, so pixels go below 0 and "
             "above 1; clipped, the noisy digit is still a picture the model could have been "
             "shown."))
if not clip:
    middle.caption("Unclipped, as in the tutorials: the noisy pixels leave [0, 1].")
count = right.slider(say("Digits"), 2, 12, 6, key="denoise_count")
refresh_with("denoise_class", dataset.class_names)
digit_class = right.selectbox("Class", ["any", *range(len(dataset.class_names))],
                              key="denoise_class", format_func=lambda c: c if c == "any"
                              else dataset.class_names[c])
st.session_state.setdefault(SEED_KEY, 0)
right.button(say("Other digits"), icon=":material/casino:", key="denoise_reroll",
             on_click=lambda: st.session_state.update({SEED_KEY: st.session_state[SEED_KEY] + 1}))

if not chosen:
    st.info("Pick at least one model (two to compare them).")
    st.stop()
models = [model for model in (model_by_label(label) for label in chosen) if model is not None]
strangers = [model_name(model.label) for model in models if model.kind.name != active.kind.name]
if strangers:
    st.warning(f"{inert(', '.join(strangers))} learned from other images than "
               f"{active.kind.plural}: "
               f"it rebuilds these as what it knows, so its scores say little here.",
               icon=":material/info:")

pool = (torch.arange(len(dataset)) if digit_class == "any"
        else torch.nonzero(dataset.labels == int(digit_class)).squeeze(1))
generator = torch.Generator().manual_seed(int(st.session_state[SEED_KEY]))
picked = pool[torch.randperm(len(pool), generator=generator)[:count]]
clean = dataset.subset(picked).float_images()
digit_labels = dataset.labels[picked]
noisy = corrupt(clean, kind, level, torch.Generator().manual_seed(1000 + len(picked)), clip)
results = {model.label: denoise(model.checkpoint.model, clean, noisy, digit_labels)
           for model in models}


columns = st.columns(2 + len(models))
strips = [("Clean", clean), (f"{CORRUPTIONS[kind]} {level:.2f}", noisy),
          *((model_name(label), result.recon) for label, result in results.items())]
for column, (name, strip) in zip(columns, strips, strict=True):
    column.markdown(f"**{name}**")
    column.image(grid_png(strip, columns=1, scale=3), output_format="PNG")
st.download_button("These columns (PNG for a projector)",  # one image a row, as above
                   partial(projector_grid_png,  # made when clicked, not on every visit
                           torch.stack([strip for _, strip in strips], 1).flatten(0, 1),
                           len(strips)),
                   "denoising.png", "image/png", key="denoise_strips_png",
                   icon=":material/image:", on_click="ignore")

item = say("digit")  # the table's first column
table = {item: [f"#{int(i)} ({dataset.class_names[int(y)]})"
                for i, y in zip(picked, digit_labels, strict=True)],
         "corrupted PSNR": psnr(clean, noisy).clamp_max(100).numpy(),
         "corrupted SSIM": ssim(clean, noisy).numpy()}
for label, result in results.items():
    table[f"{model_name(label)} PSNR"] = result.psnr.numpy()
    table[f"{model_name(label)} SSIM"] = result.ssim.numpy()
frame = pd.DataFrame(table)
frame.loc[len(frame)] = ["average", *frame.drop(columns=item).mean().to_numpy()]
st.dataframe(frame, hide_index=True, column_config={
    name: st.column_config.NumberColumn(name, format="%.1f dB" if "PSNR" in name else "%.3f")
    for name in frame.columns if name != item})
best = max(results, key=lambda label: float(results[label].psnr.mean()))
st.caption(say(f"PSNR in dB against the clean digit, SSIM from 0 to 1 (Wang et al. 2004). "
               f"Best on these digits: **{inert(model_name(best))}**."))


@model_cache(st.cache_data, show_spinner="Scoring every model at every noise level…",
             max_entries=32)
def _curves(model_keys: tuple[str, ...], source: str, kind: str, clip: bool,
            _models: list) -> dict:
    """Mean PSNR per noise level over CURVE_DIGITS digits, per model and for the input."""
    return stored("denoise_curves", (source, kind, clip, CURVE_DIGITS),
                  lambda: _measure_curves(source, kind, clip, _models),
                  lambda found: {"levels": found["levels"].tolist(),
                                 "curves": {name: values.tolist()
                                            for name, values in found["curves"].items()}},
                  lambda saved: {"levels": np.asarray(saved["levels"]),
                                 "curves": {name: np.asarray(values)
                                            for name, values in saved["curves"].items()}},
                  model_keys=model_keys)


def _measure_curves(source: str, kind: str, clip: bool, _models: list) -> dict:
    dataset = load_source(source)
    order = torch.randperm(len(dataset), generator=torch.Generator().manual_seed(0))
    subset = dataset.subset(order[:CURVE_DIGITS])
    images, digit_labels = subset.float_images(), subset.labels
    levels = noise_levels(kind)
    copies = corrupted_copies(images, kind, levels, clip=clip)
    name = say_of(f"corrupted input ({len(images)} digits)", source_kind(source))
    curves = {name: input_psnr(images, copies)}
    for model in _models:
        curves[model_name(model.label)] = psnr_against_noise(model.checkpoint.model, images,
                                                         digit_labels, copies)
    return {"levels": levels, "curves": curves}


st.subheader("PSNR against noise level")
curve = _curves(tuple(model.key for model in models), source, kind, clip, models)
st.plotly_chart(psnr_curves(curve["levels"], curve["curves"], CORRUPTIONS[kind],
                            noun=source_kind(source).noun), key="denoise_curve",
                config=PROJECTOR_PNG)
gains = {name: float(np.mean(values - curve["curves"][next(iter(curve["curves"]))]))
         for name, values in list(curve["curves"].items())[1:]}
st.caption(say("Above the dotted line the model cleans the digit up; below it, it makes it "
               "worse. ")
           + " · ".join(f"{name}: {gain:+.1f} dB on average over the corrupted input"
                        for name, gain in gains.items()))
if not any((model.checkpoint.train_config and model.checkpoint.train_config.denoising)
           for model in models):
    st.info("None of these models was trained to denoise. Train one on the **Train** page with "
            "the *dae* preset (or any model with input noise) and compare it here.",
            icon=":material/lightbulb:")
