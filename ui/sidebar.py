"""The sidebar every page shares: the model picker, an upload box and the model's card."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from ae_core.checkpoint import CheckpointError, load_checkpoint_bytes
from ae_core.latent import model_device
from ae_core.models import describe_family
from ui import state, url_state
from ui.card_terms import card_terms
from ui.copy_link import one_history_entry_per_page
from ui.models import (
    ActiveModel,
    active_model,
    add_session_model,
    model_labels,
    model_name,
)
from ui.onnx_upload import onnx_uploader
from ui.plain_text import code_literal, inert

# Metrics worth a line on the model card, in this order, with how to show them.
CARD_METRICS = {
    "mse_per_pixel": "MSE / pixel",
    "psnr_db": "PSNR (dB)",
    "neg_elbo": "−ELBO (nats)",
    "recon_loss": "Recon. loss",
    "linear_probe_accuracy": "Linear probe acc.",
}


def _handle_upload() -> None:
    upload = st.session_state.get("sidebar_upload")
    if upload is None:
        return
    try:
        checkpoint = load_checkpoint_bytes(upload.getvalue(), upload.name)
    except CheckpointError as error:
        st.session_state[state.UPLOAD_ERROR] = f"{upload.name} was not loaded: {error}"
        return
    st.session_state.pop(state.UPLOAD_ERROR, None)
    add_session_model(Path(upload.name).stem, checkpoint)


def model_card(model: ActiveModel) -> None:
    config = model.checkpoint.model_config
    train = model.checkpoint.train_config
    latent_dim = model.checkpoint.model.latent_dim
    dataset = train.dataset if train else model.checkpoint.info.get("dataset", "?")
    lines = [
        f"**{describe_family(config.family)}**",
        f"latent size **{latent_dim}** · compression **{784 / latent_dim:.1f}×**",
        # The file's own text in a code span, its backticks dropped (ui.plain_text).
        f"dataset {code_literal(dataset)} · "
        f"device `{model_device(model.checkpoint.model)}`",
    ]
    st.markdown("  \n".join(lines))
    metrics = model.checkpoint.metrics
    shown = {label: metrics[name] for name, label in CARD_METRICS.items() if name in metrics}
    if shown:
        st.caption(" · ".join(f"{label} {value:.4g}" for label, value in shown.items()))
    card_terms(model, [name for name in CARD_METRICS if name in metrics])


def sidebar() -> ActiveModel | None:
    """Draw the picker and card of the model resolved for this run (ui.models.
    resolve_active_model, called by app.py before); returns it (None if there is none)."""
    model = active_model()
    with st.sidebar:
        labels = model_labels()
        if model is not None:
            # Its own default is the active model: a picker whose script loads after a rerun
            # mounts on its default, not on the session's value (the picker race, issue 19).
            st.selectbox("Model", labels, index=labels.index(model.label),
                         key=state.ACTIVE_MODEL)
        st.file_uploader("Load a checkpoint (.safetensors)", type=["safetensors"],
                         key="sidebar_upload", on_change=_handle_upload)
        onnx_uploader(model)  # an encoder + decoder exported to ONNX (ui/onnx_upload.py)
        if state.UPLOAD_ERROR in st.session_state:
            st.error(inert(st.session_state[state.UPLOAD_ERROR]))  # a file's text, as text
        if model is not None:
            model_card(model)
        one_history_entry_per_page()
    if model is not None:
        url_state.show({url_state.MODEL: model_name(model.label)})
    return model
