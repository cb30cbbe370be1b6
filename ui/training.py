"""Training from the Train page: the run record kept in session state, the Streamlit callback
that draws a run as it learns, and what happens to a finished or interrupted run.

A click anywhere in Streamlit reruns the script, which interrupts a training run in progress
(the Stop button is such a click). So after every epoch the callback keeps a CPU copy of the
model and the history in the run record: the next script run finds the record unfinished and
keeps what the last completed epoch learned.
"""

from __future__ import annotations

import copy
import logging
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import streamlit as st
import torch

from ae_core.checkpoint import Checkpoint, checkpoint_to_bytes, list_checkpoints
from ae_core.config import (
    COMMON_SETTINGS,
    PRESETS,
    ModelConfig,
    TrainConfig,
    check_overcomplete,
    is_overcomplete,
    resolve_preset,
)
from ae_core.data import DIGIT_CLASSES, Dataset, model_kind
from ae_core.figures import code_scatter, grid_png, loss_curves
from ae_core.figures.lecture import PROJECTOR_PNG
from ae_core.latent import encode_dataset, model_device
from ae_core.models import Autoencoder, expected_shapes
from ae_core.models.base import AfterTrainingReport
from ae_core.overcomplete import NoiseTest, noise_test
from ae_core.own_images import is_own_images
from ae_core.projection import PCAProjection
from ae_core.registry import Setting, family_class
from ae_core.sampling import no_prior_reason
from ae_core.saving import Kept, evict_oldest, keep
from ae_core.train import (
    EpochReport,
    ReportProgress,
    StepReport,
    TrainResult,
    after_training_message,
    prepare_data,
    train_model,
)
from ui import state
from ui.models import SESSION_PREFIX, add_session_model, session_models
from ui.sources import say
from ui.trainer_queue import (
    TrainerQueue,
    lower_thread_priority,
    trainer_slot,
    trainer_slots,
)

CODE_SAMPLE = 1000  # validation digits whose codes the 2-D view shows each epoch
STRIP_EPOCHS = 8  # reconstruction rows kept in the strip: the latest epochs
PROGRESS_SECONDS = 0.2  # at most this often a progress update (each is a message to the browser)
QUEUE_POLL_SECONDS = 0.5  # a waiting session's place in the queue is redrawn this often
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
# A public server's disk is shared: a session saves under at most this many names (one run
# once saved under 20 in 30 s), and the saved models together keep at most this many bytes
# (the oldest go first; the shipped ones live in checkpoints/ and are never touched). The
# largest model the parameter budget allows is 80 MB as float32.
MAX_SAVES_PER_SESSION = 5
MAX_SAVED_BYTES = 512 * 1024 * 1024
LOG = logging.getLogger(__name__)


def family_of(choice: str) -> str:
    """The model family behind a family name or a preset name."""
    return PRESETS[choice].family if choice in PRESETS else choice


def settings_for(choice: str) -> list[Setting]:
    """The model settings the Train page shows for a family or preset: what every family has,
    then the family's own declared settings (a new family gets its widgets for free)."""
    return [*COMMON_SETTINGS, *family_class(family_of(choice)).settings]


def is_variational(choice: str) -> bool:
    """Whether the family trains with a KL term (and so takes a KL warm-up)."""
    return family_class(family_of(choice)).is_variational


def defaults_for(choice: str) -> dict[str, Any]:
    """Every ModelConfig and TrainConfig field's starting value for a family or preset."""
    model_config, train_config = resolve_preset(choice, {}, {})
    return {**model_config.to_dict(), **train_config.to_dict()}


def parse_sizes(text: str, name: str) -> tuple[int, ...]:
    """"512, 256" -> (512, 256); a clear ValueError for anything else."""
    parts = [part.strip() for part in text.replace(";", ",").split(",") if part.strip()]
    try:
        return tuple(int(part) for part in parts)
    except ValueError:
        raise ValueError(f"{name} must be whole numbers separated by commas, "
                         f"got {text!r}") from None


def build_configs(choice: str, values: dict[str, Any]) -> tuple[ModelConfig, TrainConfig]:
    """Configs from the page's widget values (ValueError naming the field when they clash)."""
    model_fields = {setting.name for setting in settings_for(choice)}
    model_values = {k: v for k, v in values.items() if k in model_fields}
    train_values = {k: v for k, v in values.items() if k in TrainConfig.__dataclass_fields__}
    model_config, train_config = resolve_preset(choice, model_values, train_values)
    check_overcomplete(model_config, train_config)
    expected_shapes(model_config)  # the parameter budget, checked without allocating anything
    if set(range(len(DIGIT_CLASSES))) <= set(train_config.exclude_classes):
        raise ValueError("exclude_classes leaves no class to train on")
    return model_config, train_config


@st.cache_resource(show_spinner="Loading the training images…", max_entries=4)
def _prepared(dataset: str, exclude_classes: tuple[int, ...], val_fraction: float,
              seed: int) -> tuple[Dataset, Dataset]:
    """ae_core.train.prepare_data, once for all sessions (read-only), keyed by what it reads."""
    return prepare_data(TrainConfig(dataset=dataset, exclude_classes=exclude_classes,
                                    val_fraction=val_fraction, seed=seed))


def split_data(config: TrainConfig) -> tuple[Dataset, Dataset]:
    """The (train, validation) split `config` trains on; another epoch count or learning rate
    shares the cached one."""
    return _prepared(config.dataset, config.exclude_classes, config.val_fraction, config.seed)


@st.cache_resource(show_spinner=False)
def trainer_queue() -> TrainerQueue:
    """The server's one queue of training runs (ui.trainer_queue): LATENT_LAB_TRAINERS at once."""
    return TrainerQueue(trainer_slots())


@contextmanager
def free_trainer() -> Iterator[None]:
    """Hold one of the server's trainers for the block. While none is free, the session sees
    its place in the queue and a Cancel button: that click (any click) reruns the script,
    which leaves the queue; a finished, stopped or failed run gives its trainer back."""
    notice, cancel = st.empty(), st.empty()
    drawn = False

    def show(place: int, waiting: int) -> None:
        nonlocal drawn
        notice.info(f"Waiting for a free trainer: position {place} of {waiting} "
                    f"(this server trains {trainer_queue().slots} model(s) at a time)",
                    icon=":material/hourglass_top:")
        if not drawn:
            cancel.button("Cancel", key="train_cancel", icon=":material/close:")
            drawn = True

    with trainer_slot(trainer_queue(), show, QUEUE_POLL_SECONDS):
        notice.empty()
        cancel.empty()
        # An epoch is seconds of CPU; a slider step of another session is milliseconds and
        # waits behind it on 2 cores. This script run's thread trains, so it goes last.
        lower_thread_priority()
        yield


def view_digits(data: Dataset) -> tuple[Dataset, Dataset]:
    """The digits a run is watched on: one per class (the strip) and a fixed sample (2-D)."""
    firsts = [torch.nonzero(data.labels == label)[0, 0] for label in data.labels.unique()]
    return data.subset(torch.stack(firsts)), data.subset(torch.arange(min(len(data),
                                                                           CODE_SAMPLE)))


@dataclass
class TrainingRun:
    """One training run of this session: its settings, what it has learned, how it ended."""

    name: str
    choice: str  # the family or preset picked
    model_config: ModelConfig
    train_config: TrainConfig
    fixed: Dataset  # one digit per class, reconstructed after every epoch
    sample: Dataset  # digits whose codes the 2-D view shows
    history: list[EpochReport] = field(default_factory=list)
    model: Autoencoder | None = None  # CPU copy of the last completed epoch
    recon_rows: list[torch.Tensor] = field(default_factory=list)  # (K, 1, 28, 28) per epoch
    points: np.ndarray | None = None  # (N, 2) the sample's codes, projected
    points_title: str = ""
    view_error: str | None = None  # a family whose codes the view cannot draw
    finished: bool = False
    stop_reason: str | None = None
    diverged: bool = False
    best_epoch: int | None = None  # the epoch `model` is from, when not the last (a blow-up)
    device: str = ""
    # What the family is fitting once every epoch has run (its code prior) while it does, and
    # the figures of that fit once done (TrainResult.after_training).
    fitting: str | None = None
    after_training: dict[str, float] = field(default_factory=dict)
    checkpoint: Checkpoint | None = None
    label: str | None = None  # its label in the sidebar's model picker
    noise: NoiseTest | None = None  # an overcomplete model's copy test, once it has run

    @property
    def epochs_done(self) -> int:
        return len(self.history)

    def observe(self, model: Autoencoder) -> None:
        """Reconstruct the fixed digits and project the sample's codes with `model` (CPU)."""
        try:
            with torch.inference_mode():
                self.recon_rows.append(model.reconstruct(self.fixed.float_images(),
                                                         self.fixed.labels))
            del self.recon_rows[:-STRIP_EPOCHS]  # the strip shows the latest epochs only
            codes = encode_dataset(model, self.sample.float_images(), self.sample.labels).codes
            if codes.shape[1] == 2:
                self.points, title = codes.numpy(), "the 2-D code itself"
            else:
                projection = PCAProjection(2).fit(codes)
                explained = projection.explained_variance_ratio_.sum()
                self.points = projection.transform(codes)
                title = f"PCA of the {codes.shape[1]}-D codes ({explained:.0%} of variance)"
            self.points_title = f"Codes after epoch {self.epochs_done}<br>{title}"
        except Exception as error:  # a family the view does not know: training goes on
            self.view_error = f"the live view cannot draw this model's codes: {error}"


def _step_text(report: StepReport) -> str:
    return (f"Epoch {report.epoch}/{report.epochs} · step {report.step}/{report.steps} · "
            f"loss {report.loss:.4g}")


class TrainingView:
    """The page area a run draws into: progress bar, loss curves, 2-D codes, reconstructions."""

    def __init__(self) -> None:
        self.progress_slot = st.empty()
        losses, codes = st.columns(2)
        self.losses = losses.empty()
        self.codes = codes.empty()
        self.strip = st.empty()

    def progress(self, fraction: float, text: str) -> None:
        self.progress_slot.progress(min(1.0, max(0.0, fraction)), text=text)

    def draw(self, run: TrainingRun) -> None:
        epoch = run.epochs_done
        if run.history:
            self.losses.plotly_chart(loss_curves(run.history), key=f"train_losses_{epoch}",
                                     config=PROJECTOR_PNG)
        if run.view_error:
            self.codes.warning(run.view_error)
        elif run.points is not None:
            self.codes.plotly_chart(
                code_scatter(run.points, run.sample.labels, run.sample.class_names,
                             run.points_title), key=f"train_codes_{epoch}", config=PROJECTOR_PNG)
        if run.recon_rows:
            first = epoch - len(run.recon_rows) + 1
            images = torch.cat([run.fixed.float_images(), *run.recon_rows])
            self.strip.image(grid_png(images, columns=len(run.fixed), scale=3), output_format="PNG",
                             caption=words(run)(
                                 f"Top row: the digits. Below: their reconstructions after "
                                 f"epoch {first}" + (f" to {epoch}" if epoch > first else "")))


def noise_panel(run: TrainingRun) -> None:
    """An overcomplete model's copy test: uniform noise in, its reconstruction out. A model
    that learned the identity gives the noise back; one that learned digits does not."""
    if run.model is None or not is_overcomplete(run.model_config):
        return
    if run.noise is None:  # the finished run's model does not change: test it once
        run.noise = noise_test(run.model, run.sample.float_images())
    test = run.noise
    st.subheader("Does it copy its input?")
    images, figures = st.columns([2, 1])
    images.image(grid_png(test.shown, columns=len(test.shown) // 2, scale=3),
                 output_format="PNG", caption="Top row: uniform noise, never seen in training. "
                                              "Below: what the model gives back")
    figures.metric("Noise in → out: correlation", f"{test.noise.correlation:.2f}",
                   help="Pixel correlation between a noise image and its reconstruction, "
                        "mean over 200 noise images: 1 is a perfect copy, 0 nothing of it")
    say = words(run)
    figures.metric(say("Digits in → out: correlation"), f"{test.digits.correlation:.2f}",
                   help=say(f"The same for {len(run.sample)} validation digits"))
    st.caption(say(f"The {run.model_config.latent_dim}-number code is larger than the "
               f"784-pixel image, so the model could learn to copy anything. Noise that comes "
               f"back unchanged means it did; noise that comes back as something else means it "
               f"learned what digits look like. docs/quality.md compares regularisers."))


class LiveTraining(ReportProgress):
    """Drives a TrainingView from ae_core.train.fit and keeps each epoch in the run record."""

    def __init__(self, run: TrainingRun, view: TrainingView) -> None:
        super().__init__(view.progress, _step_text, PROGRESS_SECONDS)
        self.run, self.view = run, view
        self.started = time.monotonic()

    def on_train_start(self, model: Autoencoder, config: TrainConfig) -> None:
        self.run.device = str(model_device(model))
        self.view.progress(0.0, f"Training on {self.run.device}…")

    def on_epoch_end(self, model: Autoencoder, report: EpochReport) -> None:
        # No streamlit call between these two lines, so a click cannot split the pair.
        self.run.model = copy.deepcopy(model).cpu().eval()  # never the live, training model
        self.run.history.append(report)
        self.run.observe(self.run.model)
        self.view.progress(report.epoch / report.epochs,
                           f"Epoch {report.epoch}/{report.epochs} done · "
                           f"{time.monotonic() - self.started:.1f} s")
        self.view.draw(self.run)

    def on_after_training_epoch(self, report: AfterTrainingReport) -> None:
        self.run.fitting = report.what  # an interruption now keeps the model without it
        message = after_training_message(report)
        self.view.progress(report.fraction, f"{message[0].upper()}{message[1:]} · "
                                            f"{time.monotonic() - self.started:.1f} s")


def start_run(name: str, choice: str, model_config: ModelConfig,
              train_config: TrainConfig) -> tuple[TrainingRun, Dataset, Dataset]:
    """A new run record in session state, with its data (DataError if it cannot be read)."""
    train_data, val_data = split_data(train_config)
    fixed, sample = view_digits(val_data if len(val_data) else train_data)
    run = TrainingRun(name, choice, model_config, train_config, fixed, sample)
    st.session_state[state.TRAIN_RUN] = run
    return run, train_data, val_data


def train(run: TrainingRun, train_data: Dataset, val_data: Dataset, view: TrainingView) -> None:
    """Fit a fresh model (never a cached, shared one) in this script run, drawing as it goes."""
    result = train_model(run.model_config, run.train_config, [LiveTraining(run, view)],
                         data=(train_data, val_data))
    if result.stop_reason is None:  # every epoch ran: the model with what was fitted after
        # (a VQ-VAE's code prior), and its best epoch's weights if the run blew up
        run.model, run.best_epoch = copy.deepcopy(result.model).cpu().eval(), result.best_epoch
        run.fitting, run.after_training = None, result.after_training
    reasons = [reason for reason in (result.stop_reason, result.kept_best,
                                     result.never_learned) if reason]
    finish(run, "; ".join(reasons) or None, result.diverged)


def finish(run: TrainingRun, stop_reason: str | None, diverged: bool = False) -> None:
    """Close a run: its last completed epoch becomes this session's active model."""
    run.finished, run.stop_reason, run.diverged = True, stop_reason, diverged
    if run.model is None:
        return  # no epoch completed: nothing learned to keep
    result = TrainResult(run.model, run.history, run.device, stop_reason, diverged,
                         run.best_epoch, after_training=run.after_training)
    info = {"name": run.name, "preset": run.choice, "dataset": run.train_config.dataset,
            "epochs_completed": result.epochs_completed, "device": run.device,
            "stop_reason": stop_reason,
            # Your own images: their class names, for when their temporary folder is gone.
            **({"class_names": list(run.fixed.class_names)}
               if is_own_images(run.train_config.dataset) else {}),
            **({"best_epoch": run.best_epoch} if run.best_epoch else {})}
    run.checkpoint = Checkpoint(run.model, run.model_config, run.train_config,
                                result.final_metrics(), info)
    run.label = make_active(run.name, run.checkpoint)


def finish_interrupted(run: TrainingRun) -> None:
    """A script run ended mid-training (Stop, or another click): keep the last epoch."""
    if run.fitting is not None:  # every epoch ran; what was fitted after them did not finish
        epochs = f"{run.epochs_done} epoch{'s' * (run.epochs_done != 1)}"
        finish(run, f"stopped while fitting its {run.fitting}, once its {epochs} had run: "
                    f"the model is kept without it")
        return
    finish(run, f"stopped after epoch {run.epochs_done} of {run.train_config.epochs}")


def prior_panel(run: TrainingRun) -> None:
    """Which prior the trained model's samples draw from, and the figures of what was fitted
    after training (a VQ-VAE's code prior: bits per position, against independent ones)."""
    model = run.model
    if model is None:
        return
    if model.has_prior:
        st.info(f"Its samples (the Samples page) draw from the prior {model.prior_name}.",
                icon=":material/casino:")
    else:
        st.info(words(run)(f"Samples: {no_prior_reason(model)}"), icon=":material/casino:")
    figures = run.after_training
    if figures:
        for column, (name, value) in zip(st.columns(len(figures)), figures.items(),
                                         strict=True):
            column.metric(name.replace("_", " ").capitalize(), f"{value:.3f}",
                          help=words(run)("Measured on the validation digits once training "
                                          "was over"))


def words(run: TrainingRun) -> Callable[[str], str]:
    """`say` for the kind of images `run` trains on (ui.sources): its text, written of digits,
    in that kind's words; one's own images by the class names already loaded (no file read)."""
    names = run.fixed.class_names if is_own_images(run.train_config.dataset) else None
    kind = model_kind(run.train_config, names)
    return lambda text: say(text, kind)


def make_active(name: str, checkpoint: Checkpoint) -> str:
    """ui.models.add_session_model under a name not yet taken; active from the next rerun."""
    unique, count = name, 1
    while SESSION_PREFIX + unique in session_models():
        count += 1
        unique = f"{name}-{count}"
    checkpoint.info["name"] = unique
    return add_session_model(unique, checkpoint)


def saved_info(checkpoint: Checkpoint) -> dict[str, Any]:
    """The checkpoint's info without this session's cache key."""
    return {k: v for k, v in checkpoint.info.items() if k != "session_key"}


def checkpoint_path(folder: Path, name: str) -> Path:
    """folder/name.safetensors for a plain name; ValueError for a path, an odd name or a
    shipped model's name (the sidebar would list two models called ae_32)."""
    name = name.strip()
    if name.endswith(".safetensors"):
        name = name[: -len(".safetensors")]
    if not NAME_PATTERN.fullmatch(name) or ".." in name:
        raise ValueError("use letters, digits, '-', '_' and '.' (up to 64, starting with a "
                         "letter or digit); no folders")
    if name.lower() in {path.stem.lower() for path in list_checkpoints(state.CHECKPOINT_DIR)}:
        raise ValueError(f"{name} is a shipped model's name: choose another")
    return Path(folder) / f"{name}.safetensors"


def save(run: TrainingRun, path: Path, replace: bool = False) -> Kept:
    """Keep the run's model at `path` (ae_core.saving.keep: never lost, never replacing another
    model unless `replace`), or say where it went instead. A session saves under at most
    MAX_SAVES_PER_SESSION names (ValueError past them); the folder keeps MAX_SAVED_BYTES, its
    oldest models going first. The server's log has the paths; `public_note` has none."""
    saved = st.session_state.setdefault(state.SAVED_BY_SESSION, set())
    if path not in saved and len(saved) >= MAX_SAVES_PER_SESSION:
        raise ValueError(f"this session has saved {len(saved)} models, the most it may: "
                         f"replace one of them, or download this one")
    checkpoint = run.checkpoint
    kept = keep(path, checkpoint.model, replace, train_config=checkpoint.train_config,
                metrics=checkpoint.metrics, info=saved_info(checkpoint))
    if kept.note:
        LOG.warning("saving %s: %s", path, kept.note)
    if kept.path.parent == path.parent:
        for removed in evict_oldest(path.parent, MAX_SAVED_BYTES, kept.path):
            LOG.warning("saved models past %d MB: removed the oldest, %s",
                        MAX_SAVED_BYTES // 2**20, removed)
    return kept


def download_bytes(run: TrainingRun) -> bytes:
    """The run's checkpoint as one safetensors file (made when the button is clicked)."""
    checkpoint = run.checkpoint
    return checkpoint_to_bytes(checkpoint.model, checkpoint.train_config, checkpoint.metrics,
                               saved_info(checkpoint))
