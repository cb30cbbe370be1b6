"""Train a model live: pick a family and its options, watch it learn, keep, save or download it."""

import streamlit as st

from ae_core.config import NOISE_KINDS, PRESETS, PRIORS, RECON_LOSSES, ModelConfig
from ae_core.data import SOURCES, DataError
from ae_core.models import DESCRIPTIONS, REGISTRY
from ui import state
from ui.training import (
    TrainingView,
    build_configs,
    checkpoint_path,
    defaults_for,
    download_bytes,
    family_of,
    finish,
    finish_interrupted,
    options_for,
    parse_sizes,
    save,
    start_run,
    train,
)

CHOICES = [*REGISTRY, *(name for name in PRESETS if name not in REGISTRY)]
BATCH_SIZES = (16, 32, 64, 128, 256, 512)
SIZE_FIELDS = ("hidden_sizes", "conv_channels")  # tuples, edited as "512, 256"
# Config fields with a widget here (key "train_<field>"); the others keep their defaults.
WIDGET_FIELDS = ("latent_dim", "hidden_sizes", "conv_channels", "recon_loss", "beta",
                 "sparsity_weight", "contractive_weight", "codebook_size", "commitment_weight",
                 "prior", "adversarial_weight", "kl_warmup_epochs", "epochs", "batch_size", "lr",
                 "dataset", "noise_kind", "noise_level", "exclude_classes")
DEFAULT_NOISE_LEVEL = 0.3  # where the level slider starts when denoising is switched on


def describe(choice: str) -> str:
    if choice in PRESETS:
        return f"{choice}: {PRESETS[choice].description}"
    return f"{choice}: {DESCRIPTIONS.get(choice, choice)}"


def widget_value(name: str, value):
    if name in SIZE_FIELDS:
        return ", ".join(str(size) for size in value)
    return list(value) if isinstance(value, tuple) else value


def settle_options() -> None:
    """Give every option widget a value: a new family or preset resets the architecture and
    what either preset overrides; a widget that was hidden (so forgotten) gets its default."""
    old = st.session_state.get("train_applied_choice")
    new = st.session_state.setdefault("train_family", "ae")
    changed = old != new
    defaults = defaults_for(new)
    overridden = {name for choice in (old, new) if choice in PRESETS
                  for name in PRESETS[choice].train_overrides}
    for name in WIDGET_FIELDS:
        key = f"train_{name}"
        reset = changed and (name in ModelConfig.__dataclass_fields__ or name in overridden)
        if reset or key not in st.session_state:
            st.session_state[key] = widget_value(name, defaults[name])
    st.session_state["train_applied_choice"] = new


def forget_save_form() -> None:
    """A new run's save form starts from its own name."""
    for key in ("train_save_name", "train_overwrite"):
        st.session_state.pop(key, None)


st.title("Train a model")
settle_options()

options, results = st.columns([1, 2], gap="large")
with options:
    choice = st.selectbox("Family or preset", CHOICES, key="train_family",
                          format_func=describe)
    shown = options_for(choice)
    values = {"latent_dim": st.number_input("Latent size", 1, 4096, key="train_latent_dim",
                                            help="Numbers in the bottleneck (784 pixels in)")}
    size_error = None
    for name, label in (("hidden_sizes", "Hidden sizes"), ("conv_channels", "Conv channels")):
        if name in shown:
            try:
                values[name] = parse_sizes(st.text_input(label, key=f"train_{name}"), label)
            except ValueError as error:
                size_error = str(error)
    values["recon_loss"] = st.radio("Reconstruction loss", RECON_LOSSES, horizontal=True,
                                    key="train_recon_loss")
    if "beta" in shown:
        left, right = st.columns(2)
        values["beta"] = left.number_input("β (KL weight)", 0.0, 100.0, step=0.5,
                                           key="train_beta")
        values["kl_warmup_epochs"] = right.number_input("KL warm-up epochs", 0, 1000,
                                                        key="train_kl_warmup_epochs")
    if "sparsity_weight" in shown:
        values["sparsity_weight"] = st.number_input("Sparsity weight (L1)", 0.0, 10.0,
                                                    step=1e-3, format="%.4f",
                                                    key="train_sparsity_weight")
    if "contractive_weight" in shown:
        values["contractive_weight"] = st.number_input("Contractive weight", 0.0, 10.0,
                                                       step=1e-3, format="%.4f",
                                                       key="train_contractive_weight")
    if "codebook_size" in shown:
        left, right = st.columns(2)
        values["codebook_size"] = left.number_input("Codebook size", 2, 4096,
                                                    key="train_codebook_size")
        values["commitment_weight"] = right.number_input("Commitment weight", 0.0, 10.0,
                                                         step=0.05,
                                                         key="train_commitment_weight")
    if "prior" in shown:
        left, right = st.columns(2)
        values["prior"] = left.selectbox("Prior", PRIORS, key="train_prior")
        values["adversarial_weight"] = right.number_input("Adversarial weight", 0.0, 10.0,
                                                          step=0.1,
                                                          key="train_adversarial_weight")
    left, right = st.columns(2)
    values["epochs"] = left.number_input("Epochs", 1, 1000, key="train_epochs")
    values["lr"] = right.number_input("Learning rate", 1e-5, 1.0, step=1e-4, format="%.1e",
                                      key="train_lr")
    values["batch_size"] = st.select_slider("Batch size", BATCH_SIZES, key="train_batch_size")
    values["dataset"] = st.selectbox("Dataset", SOURCES, key="train_dataset")
    left, right = st.columns(2)
    values["noise_kind"] = left.selectbox("Denoising noise", NOISE_KINDS,
                                          key="train_noise_kind",
                                          help="The model sees a corrupted digit and learns to "
                                               "rebuild the clean one")
    if values["noise_kind"] != "none":
        if st.session_state["train_noise_level"] == 0:
            st.session_state["train_noise_level"] = DEFAULT_NOISE_LEVEL
        values["noise_level"] = right.slider("Corruption level", 0.05, 1.0, step=0.05,
                                             key="train_noise_level")
    values["exclude_classes"] = tuple(st.multiselect(
        "Leave out classes", range(10), key="train_exclude_classes",
        help="Train on the other classes only (an anomaly detector for the left-out ones)"))
    auto_name = f"{choice}_{values['latent_dim']}"
    name = st.text_input("Name", key="train_name", placeholder=auto_name,
                         help="How the model is listed in the sidebar")

    configs, config_error = None, size_error
    if config_error is None:
        try:
            configs = build_configs(choice, values)
        except ValueError as error:
            config_error = str(error)
    if config_error:
        st.error(f"These options do not make a model: {config_error}")

with results:
    start = st.button("Train", type="primary", key="train_start", disabled=configs is None,
                      icon=":material/play_arrow:")
    run = st.session_state.get(state.TRAIN_RUN)
    if run is not None and not run.finished:  # the last script run was interrupted mid-run
        finish_interrupted(run)
        forget_save_form()
        if not start:
            st.rerun()  # the sidebar picker then shows the kept model
    if start:
        st.button("Stop", key="train_stop", icon=":material/stop:",
                  help="Ends training and keeps what the last completed epoch learned")
        try:
            run, train_data, val_data = start_run(name.strip() or auto_name, choice, *configs)
        except DataError as error:
            st.error(f"The dataset cannot be read: {error}")
            st.stop()
        try:
            train(run, train_data, val_data, TrainingView())
        except Exception as error:  # a family's own failure ends the run, not the page
            finish(run, f"failed after epoch {run.epochs_done}: {error}", diverged=True)
        forget_save_form()
        st.rerun()  # the sidebar picker then shows the new model

    if run is None:
        st.info(f"Pick a family on the left and press **Train**: a fresh {family_of(choice)} "
                "model learns here, live, for this session only; the shipped models stay as "
                "they are.")
        st.stop()

    view = TrainingView()
    view.progress(run.epochs_done / run.train_config.epochs,
                  f"{run.name}: {run.epochs_done}/{run.train_config.epochs} epochs")
    view.draw(run)
    if run.diverged:
        st.error(f"Training stopped early: {run.stop_reason}")
    elif run.stop_reason:
        st.info(f"Training {run.stop_reason}.")
    if run.checkpoint is None:
        st.warning("No epoch completed, so there is nothing to keep.")
        st.stop()
    st.success(f"**{run.label}** is this session's active model: the other pages show it.")

    st.subheader("Keep it")
    left, right = st.columns([2, 1])
    st.session_state.setdefault("train_save_name", run.checkpoint.name)
    file_name = left.text_input("File name in checkpoints/", key="train_save_name")
    try:
        path = checkpoint_path(state.CHECKPOINT_DIR, file_name)
    except ValueError as error:
        path = None
        left.error(f"Not a checkpoint name: {error}")
    exists = path is not None and path.exists()
    overwrite = exists and left.checkbox(f"Replace the existing {path.name}",
                                         key="train_overwrite")
    if right.button("Save", key="train_save", icon=":material/save:",
                    disabled=path is None or (exists and not overwrite)):
        save(run, path)
        left.success(f"Saved {path.name}: the sidebar lists it for every session.")
    right.download_button("Download", data=lambda: download_bytes(run),
                          file_name=f"{run.checkpoint.name}.safetensors",
                          mime="application/octet-stream", key="train_download",
                          icon=":material/download:", on_click="ignore")
