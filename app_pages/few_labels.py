"""Few labels: what an autoencoder learned without labels is worth when labels are scarce."""

import streamlit as st

from ae_core.config import TrainConfig
from ae_core.kinds import get_kind
from ae_core.semisupervised import few_labels, frozen_probe
from ui.models import ActiveModel, model_cache, require_model
from ui.sources import shown_kind, wording
from ui.training import split_data

st.title("Few labels")
model = require_model()
say = wording(model)  # the words for the model's kind of images
st.markdown(say(
    "An autoencoder learns from digits without their labels. With only a handful of labelled "
    "digits, does that help? The model's encoder plus one linear layer is **fine-tuned** on "
    "the labelled digits, and the **same network from a fresh start** is trained on the same "
    "digits alone; both are scored on held-out digits neither has seen."))
kind = shown_kind(model).name  # labelled and held-out images of the model's own kind
nouns = get_kind(kind).plural


@model_cache(st.cache_data, show_spinner="Training both classifiers…", max_entries=32)
def _result(model_key: str, per_class: int, kind: str, _model: ActiveModel):
    # The split the shipped models of this kind were trained on.
    train, test = split_data(TrainConfig(dataset=get_kind(kind).quick_train))
    return few_labels(_model.checkpoint.model, train, test, per_class=per_class)


@model_cache(st.cache_data, show_spinner="Training both probes…", max_entries=32)
def _frozen(model_key: str, per_class: int, kind: str, _model: ActiveModel):
    train, test = split_data(TrainConfig(dataset=get_kind(kind).quick_train))
    return frozen_probe(_model.checkpoint.model, train, test, per_class=per_class)


with st.form("few_labels_form"):
    per_class = st.slider(say("Labelled digits per class"), 1, 50, 10, key="few_labels_per_class")
    run = st.form_submit_button("Train and compare", type="primary",
                                icon=":material/play_arrow:")
if model.checkpoint.model.is_conditional:
    st.info(say("This model reads a digit's label to encode it, so it cannot be asked to find "
                "the label: pick another model in the sidebar."))
    st.stop()
if not model.checkpoint.model.is_trainable:  # an ONNX pair: its weights are in its files
    st.info(say("This model cannot be fine-tuned here (its weights are in its ONNX files): a "
                "linear layer on its **frozen codes** is compared with the same layer on the "
                "**pixels** of the same labelled digits."))
    if run or st.session_state.get("few_labels_shown") == (model.key, per_class):
        st.session_state["few_labels_shown"] = (model.key, per_class)
        probe = _frozen(model.key, per_class, kind, model)
        codes, pixels = st.columns(2)
        codes.metric("Linear layer on its frozen codes", f"{probe.codes_accuracy:.1%}",
                     f"{probe.codes_accuracy - probe.pixels_accuracy:+.1%} over the pixels")
        pixels.metric("The same layer on the pixels", f"{probe.pixels_accuracy:.1%}")
        st.caption(f"{probe.labelled} labelled {nouns} ({per_class} per class) from "
                   f"{get_kind(kind).quick_train}, 300 full-batch Adam steps each.")
    st.stop()
if run or st.session_state.get("few_labels_shown") == (model.key, per_class):
    st.session_state["few_labels_shown"] = (model.key, per_class)
    result = _result(model.key, per_class, kind, model)
    held_out = len(split_data(TrainConfig(dataset=get_kind(kind).quick_train))[1])
    pretrained, scratch = st.columns(2)
    pretrained.metric("Pretrained encoder, fine-tuned", f"{result.pretrained_accuracy:.1%}",
                      f"{result.pretrained_accuracy - result.scratch_accuracy:+.1%} "
                      f"over a fresh start")
    scratch.metric("The same network from a fresh start", f"{result.scratch_accuracy:.1%}")
    st.caption(f"{result.labelled} labelled {nouns} ({per_class} per class) from "
               f"{get_kind(kind).quick_train}, 300 full-batch Adam steps each; accuracy on its "
               f"{held_out:,} held-out {nouns}.")
