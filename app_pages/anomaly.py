"""Anomaly detection: a model trained on normal digits rebuilds strangers badly; flag them."""

from __future__ import annotations

from functools import partial

import numpy as np
import streamlit as st
import torch

from ae_core.anomaly import (
    OOD_COUNT,
    detect,
    noise_images,
    reconstruction_scores,
    roc,
    threshold,
    top_scoring,
)
from ae_core.checkpoint import Checkpoint
from ae_core.config import ModelConfig, TrainConfig
from ae_core.figures import error_histogram, grid_png, roc_figure
from ae_core.figures.lecture import PROJECTOR_PNG, projector_grid_png
from ae_core.latent import decode_codes, encode_dataset
from ae_core.train import ReportProgress, StepReport, train_model
from ui.models import ActiveModel, model_cache, require_model
from ui.plain_text import inert
from ui.sources import (
    available_sources,
    load_source,
    normal_sources,
    other_test_source,
    set_label,
    source_images,
    source_kind,
)
from ui.training import PROGRESS_SECONDS, make_active
from ui.widgets import refresh_with

RULES = {"quantile": "Quantile of the normal errors", "mean_std": "Mean + k standard deviations"}
GALLERY = 16
NOISE_COUNT = 500

st.title("Anomaly detection")
st.markdown(
    "Train an autoencoder on **normal** images only. It learns to rebuild them well, and "
    "rebuilds anything else badly, so the **reconstruction error** is an anomaly score: above "
    "a threshold, raise the alarm. Where to put the threshold trades missed anomalies "
    "against false alarms; the ROC curve shows every such trade at once.")
model = require_model()
net = model.checkpoint.model
if net.is_conditional:
    st.warning("This is a conditional model: it is told each image's class, which an anomaly "
               "does not have. Pick an unconditional model in the sidebar.")
    st.stop()

# Out of distribution: the other dataset's test images (clothes for a digit model, digits
# for a Fashion-MNIST model), the classic first demonstration of reconstruction-error detection.
ood_source = other_test_source(model)
ood_kind = source_kind(ood_source)
anomalies = {"class": "A class the model never saw",
             "ood": f"{ood_kind.title} {ood_kind.plural} (out of distribution)",
             "noise": "Random noise"}
left, right = st.columns(2)
kind = left.radio("Anomalies", list(anomalies), format_func=anomalies.get,
                  key="anomaly_kind", horizontal=True)
excluded = model.checkpoint.train_config.exclude_classes if model.checkpoint.train_config else ()
normal_source = right.selectbox("Normal images from", normal_sources(model),
                                format_func=set_label, key="anomaly_source",
                                help="Images of the model's own kind it was not trained on.")
normal_set = load_source(normal_source)  # its class names, and what a quick model trains on
normal_kind = source_kind(normal_source)
class_names = normal_set.class_names
held_class = None
if kind == "class":
    # 0 and 2 make clear anomalies (ROC AUC about 0.9 for a quick model); thin digits (1, 7,
    # 9) have so little ink that even an unseen one rebuilds with a small error.
    st.session_state.setdefault("anomaly_class", int(excluded[0]) if excluded else 0)
    refresh_with("anomaly_class", class_names)
    held_class = int(left.selectbox("Held-out class", range(len(class_names)),
                                    key="anomaly_class", format_func=class_names.__getitem__,
                                    help=normal_kind.hard_to_catch or None))
elif kind == "ood":
    if not available_sources((ood_source,)):
        st.error(f"The {set_label(ood_source)} is not on this machine (see README: data). Pick "
                 f"another kind of anomaly.")
        st.stop()
    normal_count = min(OOD_COUNT, len(source_images(normal_source)))  # what the legend counts
    ood_count = min(OOD_COUNT, len(source_images(ood_source)))
    st.caption(f"The first {normal_count:,} normal test images against the first {ood_count:,} "
               f"of the {set_label(ood_source).split(' (')[0]}: images of a kind the model never "
               f"saw.")


def _progress_text(report: StepReport) -> str:
    return f"Epoch {report.epoch}/{report.epochs}, loss {report.loss:.1f}"


def _train_without(digit: int) -> None:
    """Quick training on the model's own kind of images (the embedded digits, or Fashion-MNIST's
    training set) minus one class; the result becomes active."""
    name, dataset = class_names[digit], normal_kind.quick_train
    with st.form("anomaly_train"):
        st.markdown(f"**Train a model that never sees a {name}** (MLP autoencoder, {dataset} "
                    f"without the {name}s; kept in this session).")
        size, epochs = st.columns(2)
        latent_dim = size.select_slider("Latent size", [4, 8, 16, 32], 16,
                                        key="anomaly_train_latent")
        epoch_count = epochs.slider("Epochs", 1, 30, 5, key="anomaly_train_epochs")
        start = st.form_submit_button(f"Train without {name}s", type="primary",
                                      icon=":material/model_training:")
    if not start:
        return
    model_config = ModelConfig(family="ae", latent_dim=int(latent_dim))
    train_config = TrainConfig(epochs=int(epoch_count), exclude_classes=(digit,),
                               dataset=dataset)
    bar = st.progress(0.0, "Starting…")
    result = train_model(model_config, train_config,
                         [ReportProgress(bar.progress, _progress_text, PROGRESS_SECONDS)])
    info = {"name": f"ae_{latent_dim}_no{digit}", "dataset": train_config.dataset,
            "epochs_completed": result.epochs_completed, "device": result.device,
            "trained_on": "anomaly page"}
    make_active(info["name"], Checkpoint(result.model, model_config, train_config,
                                         result.final_metrics(), info))
    st.rerun()


if kind == "class" and held_class not in excluded:
    st.warning(f"**{inert(model.label)}** saw {inert(class_names[held_class])}s in training, "
               f"so to it they are not "
               f"anomalies: expect a weak detector. Train one without them below, or pick "
               f"such a model in the sidebar.", icon=":material/info:")
    _train_without(held_class)


@st.cache_resource(show_spinner=False, max_entries=8)
def _sets(source: str, kind: str, held_class: int | None, ood_source: str
          ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(normal images, their labels, anomalous images), shared by all sessions."""
    normal = load_source(source)
    images = source_images(source)
    if held_class is not None:
        is_held = normal.labels == held_class
        return images[~is_held], normal.labels[~is_held], images[is_held]
    if kind == "ood":  # a bounded sample: 2,000 + 2,000 (ae_core.anomaly.ood_auc's figure)
        return (images[:OOD_COUNT], normal.labels[:OOD_COUNT],
                source_images(ood_source)[:OOD_COUNT])
    return images, normal.labels, noise_images(NOISE_COUNT)


@model_cache(st.cache_data, show_spinner="Scoring the images…", max_entries=32)
def _scores(model_key: str, source: str, kind: str, held_class: int | None, ood_source: str,
            _model: ActiveModel) -> tuple[np.ndarray, np.ndarray]:
    """Per-image reconstruction errors of the normal and of the anomalous set."""
    normal_images, normal_labels, anomalous_images = _sets(source, kind, held_class, ood_source)
    net = _model.checkpoint.model
    return (reconstruction_scores(net, normal_images, normal_labels),
            reconstruction_scores(net, anomalous_images))


normal_images, _, anomalous_images = _sets(normal_source, kind, held_class, ood_source)
normal_scores, anomalous_scores = _scores(model.key, normal_source, kind, held_class, ood_source,
                                          model)
anomaly_name = {"class": f"class {class_names[held_class or 0]}", "ood": ood_kind.plural,
                "noise": "noise"}[kind]

rule_column, value_column = st.columns(2)
rule = rule_column.radio("Threshold", list(RULES), format_func=RULES.get, key="anomaly_rule",
                         horizontal=True)
if rule == "quantile":
    value = value_column.slider("Quantile of the normal errors", 0.50, 0.999, 0.95, 0.001,
                                format="%.3f", key="anomaly_quantile",
                                help="0.95: about 5 % of normal images raise a false alarm.")
else:
    value = value_column.slider("k (standard deviations above the mean)", 0.0, 6.0, 3.0, 0.1,
                                key="anomaly_k")
cut = threshold(normal_scores, rule, value)
found = detect(normal_scores, anomalous_scores, cut)
fpr, tpr, auc = roc(normal_scores, anomalous_scores)

metrics = st.columns(4)
metrics[0].metric("Detection rate", f"{found.detection_rate:.1%}",
                  help=f"{found.detected} of {len(anomalous_scores)} {anomaly_name} flagged")
metrics[1].metric("False-alarm rate", f"{found.false_alarm_rate:.1%}",
                  help=f"{found.false_alarms} of {len(normal_scores)} normal "
                       f"{normal_kind.plural} flagged")
metrics[2].metric("ROC AUC", f"{auc:.3f}", help="1: perfect separation; 0.5: chance")
metrics[3].metric("Threshold (MSE / pixel)", f"{cut:.4f}")

charts = st.columns(2)
with charts[0]:
    log_x = st.toggle("Log scale", value=True, key="anomaly_log")
    st.plotly_chart(error_histogram(normal_scores, anomalous_scores, cut, "normal images",
                                    anomaly_name, log_x), key="anomaly_histogram",
                    config=PROJECTOR_PNG)
with charts[1]:
    st.plotly_chart(roc_figure(fpr, tpr, auc, (found.false_alarm_rate, found.detection_rate)),
                    key="anomaly_roc", config=PROJECTOR_PNG)

st.subheader(f"The {GALLERY} highest-scoring images")
pooled = np.concatenate([normal_scores, anomalous_scores])
top = top_scoring(pooled, GALLERY)
pooled_images = torch.cat([normal_images, anomalous_images])[torch.from_numpy(top)]
codes = encode_dataset(net, pooled_images, torch.zeros(len(top), dtype=torch.long)).codes
recon = decode_codes(net, codes)
pairs = [grid_png(torch.stack([image, rebuilt]), columns=2, scale=3)
         for image, rebuilt in zip(pooled_images, recon, strict=True)]
captions = [("⚠ " if pooled[i] > cut else "") + ("anomaly" if i >= len(normal_scores)
                                                  else "normal") + f" · {pooled[i]:.4f}"
            for i in top]
st.image(pairs, caption=captions, output_format="PNG")
st.caption("Each pair: the image and its reconstruction; ⚠ marks images above the threshold.")
st.download_button("The pairs (PNG for a projector)",  # four pairs a row, highest score first
                   partial(projector_grid_png,  # made when clicked, not on every visit
                           torch.stack([pooled_images, recon], 1).flatten(0, 1), 8),
                   "highest_scoring.png", "image/png", key="anomaly_gallery_png",
                   icon=":material/image:", on_click="ignore")
