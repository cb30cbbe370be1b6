"""Train a model live: pick a family and its options, watch it learn, keep, save or download it."""

import streamlit as st

from ae_core.config import NOISE_KINDS, PRESETS
from ae_core.data import SOURCES, DataError
from ae_core.models import REGISTRY, describe_family, family_title
from ae_core.registry import Setting
from ui import state
from ui.own_images import images_panel
from ui.plain_text import inert
from ui.training import (
    TrainingView,
    build_configs,
    checkpoint_path,
    defaults_for,
    download_bytes,
    family_of,
    finish,
    finish_interrupted,
    free_trainer,
    is_variational,
    noise_panel,
    parse_sizes,
    prior_panel,
    save,
    settings_for,
    start_run,
    train,
)

CHOICES = [*REGISTRY, *(name for name in PRESETS if name not in REGISTRY)]
BATCH_SIZES = (16, 32, 64, 128, 256, 512)
# TrainConfig fields with a widget here (key "train_<field>"); the model's settings get theirs
# from their declarations (ui.training.settings_for), the other fields keep their defaults.
TRAIN_FIELDS = ("kl_warmup_epochs", "epochs", "batch_size", "lr", "lr_schedule", "dataset",
                "noise_kind", "noise_level", "exclude_classes")
SCHEDULES = {"none": "Constant", "cosine": "Cosine decay to 0 over the run",
             "step": "Steps: x0.3 every third of the run"}
DEFAULT_NOISE_LEVEL = 0.3  # where the level slider starts when denoising is switched on


def describe(choice: str) -> str:
    if choice in PRESETS:
        return f"{choice}: {PRESETS[choice].description}"
    return f"{choice}: {describe_family(choice)}"


def widget_value(value, as_text: bool):
    """A config value as its widget holds it: sizes as text, "512, 256"; classes as a list."""
    if as_text:
        return ", ".join(str(size) for size in value)
    return list(value) if isinstance(value, tuple) else value


def setting_input(setting: Setting):
    """The widget a declared setting gets; its value as the config wants it."""
    key, label = f"train_{setting.name}", setting.title
    if setting.kind is tuple:  # edited as text, "512, 256"
        return parse_sizes(st.text_input(label, key=key, help=setting.help), label)
    if setting.kind is str:
        return st.radio(label, setting.choices, horizontal=True, key=key, help=setting.help)
    low, high = setting.bounds or (None, None)
    if setting.kind is int:
        return st.number_input(label, int(low), int(high), key=key, help=setting.help)
    small = setting.step is not None and setting.step < 0.01
    return st.number_input(label, float(low), float(high), step=setting.step,
                           format="%.4f" if small else None, key=key, help=setting.help)


def settle_options() -> None:
    """Give every option widget a value: a new family or preset resets the architecture and
    what either preset overrides; a widget that was hidden (so forgotten) gets its default."""
    old = st.session_state.get("train_applied_choice")
    new = st.session_state.setdefault("train_family", "ae")
    changed = old != new
    defaults = defaults_for(new)
    overridden = {name for choice in (old, new) if choice in PRESETS
                  for name in PRESETS[choice].train_overrides}
    model_fields = [setting.name for setting in settings_for(new)]
    text_fields = {setting.name for setting in settings_for(new) if setting.kind is tuple}
    for name in [*model_fields, *TRAIN_FIELDS]:
        key = f"train_{name}"
        reset = changed and (name in model_fields or name in overridden)
        if reset or key not in st.session_state:
            st.session_state[key] = widget_value(defaults[name], name in text_fields)
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
    values, size_error = {}, None
    for setting in settings_for(choice):
        try:
            values[setting.name] = setting_input(setting)
        except ValueError as error:  # sizes that are not numbers
            size_error = str(error)
    if is_variational(choice):
        values["kl_warmup_epochs"] = st.number_input(
            "KL warm-up epochs", 0, 1000, key="train_kl_warmup_epochs",
            help="The KL weight rises from 0 to β over these epochs (Bowman et al. 2016)")
    left, right = st.columns(2)
    values["epochs"] = left.number_input("Epochs", 1, 1000, key="train_epochs")
    values["lr"] = right.number_input("Learning rate", 1e-5, 1.0, step=1e-4, format="%.1e",
                                      key="train_lr")
    left, right = st.columns(2)
    values["batch_size"] = left.select_slider("Batch size", BATCH_SIZES, key="train_batch_size")
    values["lr_schedule"] = right.selectbox(
        "Learning-rate schedule", list(SCHEDULES), format_func=SCHEDULES.get,
        key="train_lr_schedule", help="How the learning rate changes epoch by epoch")
    own = images_panel()  # this session's uploaded images, a dataset like the others
    sources = [*SOURCES, *([own.source] if own else [])]
    if st.session_state["train_dataset"] not in sources:  # images replaced since
        st.session_state["train_dataset"] = SOURCES[0]
    values["dataset"] = st.selectbox("Dataset", sources, key="train_dataset",
                                     format_func=lambda source: own.label()
                                     if own and source == own.source else source)
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
    # Your own images leave out their own classes, by name, and one at least stays.
    own_chosen = own is not None and values["dataset"] == own.source
    class_names = own.class_names if own_chosen else tuple(map(str, range(10)))
    limit = len(class_names) - 1 if own_chosen else len(class_names)
    st.session_state["train_exclude_classes"] = [
        label for label in st.session_state["train_exclude_classes"]
        if label < len(class_names)][:limit]
    values["exclude_classes"] = tuple(st.multiselect(
        "Leave out classes", range(len(class_names)), key="train_exclude_classes",
        format_func=class_names.__getitem__, max_selections=limit if own_chosen else None,
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
        with free_trainer():  # the server trains a few models at a time; the others queue
            st.button("Stop", key="train_stop", icon=":material/stop:",
                      help="Ends training and keeps what the last completed epoch learned")
            try:
                run, train_data, val_data = start_run(name.strip() or auto_name, choice,
                                                      *configs)
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
        st.info(f"Pick a family on the left and press **Train**: a fresh "
                f"{family_title(family_of(choice))} learns here, live, for this session only; "
                "the shipped models stay as they are.")
        st.stop()

    view = TrainingView()
    view.progress(run.epochs_done / run.train_config.epochs,
                  f"{run.name}: {run.epochs_done}/{run.train_config.epochs} epochs")
    view.draw(run)
    if run.diverged:
        st.error(f"Training went wrong: {run.stop_reason}")
    elif run.stop_reason:
        st.info(f"Training {run.stop_reason}.")
    if run.checkpoint is None:
        st.warning("No epoch completed, so there is nothing to keep.")
        st.stop()
    st.success(f"**{inert(run.label)}** is this session's active model: the other pages show it.")
    prior_panel(run)
    noise_panel(run)

    st.subheader("Keep it")
    left, right = st.columns([2, 1])
    st.session_state.setdefault("train_save_name", run.checkpoint.name)
    file_name = left.text_input(f"File name in {state.SAVED_DIR.name}/", key="train_save_name",
                                help="Saved models are listed for every session; the shipped "
                                     "ones in checkpoints/ are never replaced")
    try:
        path = checkpoint_path(state.SAVED_DIR, file_name)
    except ValueError as error:
        path = None
        left.error(f"Not a checkpoint name: {error}")
    mine = path is not None and path in st.session_state.get(state.SAVED_BY_SESSION, set())
    taken = path is not None and path.exists() and not mine
    if taken:  # saved by another session, or before: never replaced from here
        left.warning(f"{path.name} is another model's name: choose another.")
    overwrite = mine and path.exists() and left.checkbox(
        f"Replace the {path.name} this session saved", key="train_overwrite")
    if right.button("Save", key="train_save", icon=":material/save:",
                    disabled=path is None or taken or (path.exists() and not overwrite)):
        try:
            kept = save(run, path, replace=overwrite)
        except OSError as error:  # not even the fallback file could be written
            st.error(f"Could not save: {error.strerror or 'an error'}. Download it instead.")
            st.stop()
        except ValueError as error:  # this session's saves are used up
            kept = None
            left.error(f"Not saved: {error}.")
        if kept is None:
            pass
        elif kept.path.parent == path.parent:
            st.session_state.setdefault(state.SAVED_BY_SESSION, set()).add(kept.path)
            left.success(f"Saved {kept.path.name}: the sidebar lists it for every session."
                         + (f" ({kept.public_note})" if kept.public_note else ""))
        else:  # the server's paths stay in its log (ui.training.save)
            left.error(f"Not saved where asked: {kept.public_note}.")
    right.download_button("Download", data=lambda: download_bytes(run),
                          file_name=f"{run.checkpoint.name}.safetensors",
                          mime="application/octet-stream", key="train_download",
                          icon=":material/download:", on_click="ignore")
