"""The training loop: batches sliced from one tensor on the device, callbacks, no printing."""

from __future__ import annotations

import contextlib
import copy
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import torch
from torch import nn

from ae_core import distributed
from ae_core.augment import random_shift
from ae_core.config import ModelConfig, TrainConfig, check_overcomplete
from ae_core.data import Dataset, load_dataset, train_val_split
from ae_core.device import pick_device
from ae_core.models import Autoencoder, build_model
from ae_core.models.base import AfterTrainingReport
from ae_core.noise import corrupt


@dataclass
class EpochReport:
    """What one epoch did; `train` and `val` map loss-term names to batch-weighted means."""

    epoch: int  # 1-based
    epochs: int
    train: dict[str, float]
    val: dict[str, float]
    kl_weight: float
    lr: float
    seconds: float
    extras: dict[str, float] = field(default_factory=dict)  # from the model's after_epoch


@dataclass
class StepReport:
    epoch: int  # 1-based
    step: int  # 1-based, within the epoch
    steps: int  # per epoch
    loss: float
    epochs: int  # in the whole run

    @property
    def fraction(self) -> float:
        """How much of the whole run is done after this step, in (0, 1]."""
        return (self.epoch - 1 + self.step / self.steps) / self.epochs


class Callback:
    """Override what you need; the loop calls these from the training thread."""

    def on_train_start(self, model: Autoencoder, config: TrainConfig) -> None: ...

    def on_step_end(self, report: StepReport) -> None: ...

    def on_epoch_end(self, model: Autoencoder, report: EpochReport) -> None: ...

    def on_after_training_epoch(self, report: AfterTrainingReport) -> None:
        """An epoch of what the family fits once training is over (`after_training`)."""


# A run whose final loss is more than this many times its best epoch's blew up (a learning rate
# far too high: `--lr 10` once ended at a validation loss of 7e11, finite, 1e13 times its best).
# Ordinary noise between epochs is a few percent, so 2x only catches a real blow-up.
BLOW_UP_FACTOR = 2.0

Progress = Callable[[float, str], None]  # (fraction of the whole job done in [0, 1], message)


def step_message(report: StepReport) -> str:
    return (f"epoch {report.epoch}/{report.epochs} · step {report.step}/{report.steps} · "
            f"loss {report.loss:.4g}")


def after_training_message(report: AfterTrainingReport) -> str:
    """"fitting the code prior: epoch 2/3 · 3.21 bits per position (train)"."""
    if report.epoch == 0:
        return f"fitting the {report.what} ({report.epochs} epoch{'s' * (report.epochs != 1)})…"
    return (f"fitting the {report.what}: epoch {report.epoch}/{report.epochs}"
            + (f" · {report.figure}" if report.figure else ""))


class ReportProgress(Callback):
    """The loop's steps as `progress(fraction done, message)`, the one progress callback.

    `span` maps the run onto part of a larger job (model 2 of 4 in a sweep: (0.25, 0.5)).
    With `min_seconds`, a step reports only if that long has passed since the last report,
    because each report may be a message to a browser; an epoch's last step always reports.
    """

    def __init__(self, progress: Progress, describe: Callable[[StepReport], str] = step_message,
                 min_seconds: float = 0.0, span: tuple[float, float] = (0.0, 1.0)) -> None:
        self.progress, self.describe, self.min_seconds, self.span = (progress, describe,
                                                                      min_seconds, span)
        self._last_report = -math.inf

    def on_step_end(self, report: StepReport) -> None:
        now = time.monotonic()
        if report.step < report.steps and now - self._last_report < self.min_seconds:
            return
        self._last_report = now
        low, high = self.span
        self.progress(low + (high - low) * report.fraction, self.describe(report))

    def on_after_training_epoch(self, report: AfterTrainingReport) -> None:
        # A second, shorter job once training is done: the fraction is this fit's own.
        low, high = self.span
        self.progress(low + (high - low) * report.fraction, after_training_message(report))


@dataclass
class TrainResult:
    model: Autoencoder
    history: list[EpochReport]
    device: str
    # Why training ended early: a divergence message, or "stopped by the user"; None if not.
    stop_reason: str | None = None
    # Set when a non-finite loss stopped the run, or when it blew up (`kept_best`): a result
    # that must never silently replace a saved model.
    diverged: bool = False
    # The epoch (1-based) whose weights `model` holds when that is not the last completed one,
    # and why: the run ended far worse than its best epoch (BLOW_UP_FACTOR).
    best_epoch: int | None = None
    kept_best: str | None = None
    # Set (with `diverged`) when the validation loss never got below the untrained model's:
    # the run learned nothing, and must not replace a model that did.
    never_learned: str | None = None
    world_size: int = 1  # processes that trained it together (torchrun)
    backend: str | None = None  # their process group's: "gloo" or "nccl"
    # Figures of what the family fitted once training was over (`after_training`: a VQ-VAE's
    # code prior, its bits per position); empty when it fitted nothing.
    after_training: dict[str, float] = field(default_factory=dict)

    @property
    def epochs_completed(self) -> int:
        return len(self.history)

    def final_metrics(self) -> dict[str, float]:
        """The validation terms (train terms where there is no validation) of the epoch whose
        weights the model holds: the best one when it was kept, else the last."""
        if not self.history:
            return {}
        kept = self.history[(self.best_epoch or len(self.history)) - 1]
        return {**(kept.val or kept.train), **self.after_training}


def epoch_loss(report: EpochReport) -> float:
    """The loss an epoch is judged by: validation, or training where there is none."""
    return (report.val or report.train).get("loss", math.nan)


def blew_up(final: float, best: float) -> bool:
    """Whether a final loss is far worse than the best: more than BLOW_UP_FACTOR times it
    (for a negative best, worse by more than (BLOW_UP_FACTOR - 1) * |best|)."""
    return math.isfinite(best) and (not math.isfinite(final)
                                    or final - best > (BLOW_UP_FACTOR - 1) * abs(best))


def best_epoch_note(history: list[EpochReport], best: int) -> str:
    """One line: which epoch's weights were kept, and why."""
    final, kept = epoch_loss(history[-1]), epoch_loss(history[best - 1])
    which = "validation" if history[-1].val else "training"
    return (f"kept the weights of epoch {best} ({which} loss {kept:.4g}): epoch "
            f"{len(history)} ended at {final:.4g}, more than {BLOW_UP_FACTOR:g}x worse")


def kl_schedule(epoch_progress: float, warmup_epochs: int) -> float:
    """KL weight factor: rises linearly from 0 to 1 over the warm-up (Bowman et al. 2016)."""
    if warmup_epochs <= 0:
        return 1.0
    return min(1.0, epoch_progress / warmup_epochs)


def _scheduler(optimizer: torch.optim.Optimizer, config: TrainConfig):
    if config.lr_schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=config.epochs)
    if config.lr_schedule == "step":
        return torch.optim.lr_scheduler.StepLR(optimizer, max(1, config.epochs // 3), gamma=0.3)
    return None


@torch.inference_mode()
def evaluate_terms(model: Autoencoder, images: torch.Tensor, labels: torch.Tensor,
                   batch_size: int = 1000, kl_weight: float = 1.0) -> dict[str, float]:
    """Batch-weighted mean of each loss term over (N, 1, 28, 28) images, in eval mode."""
    was_training = model.training
    model.eval()
    totals: dict[str, float] = {}
    for start in range(0, len(images), batch_size):
        x, y = images[start:start + batch_size], labels[start:start + batch_size]
        terms = model.loss(x, model(x, y), kl_weight=kl_weight)
        for name, value in terms.items():
            totals[name] = totals.get(name, 0.0) + float(value) * len(x)
    model.train(was_training)
    return {name: total / max(1, len(images)) for name, total in totals.items()}


@dataclass
class _Optimisers:
    """The model's optimiser, the adversary's (adversarial families only) and the schedule."""

    main_params: list[torch.nn.Parameter]
    main: torch.optim.Optimizer
    adversary: torch.optim.Optimizer | None
    scheduler: torch.optim.lr_scheduler.LRScheduler | None

    @classmethod
    def for_model(cls, model: Autoencoder, config: TrainConfig) -> _Optimisers:
        adversary_params = {id(p) for p in model.adversary_parameters()}
        main_params = [p for p in model.parameters() if id(p) not in adversary_params]
        main = torch.optim.Adam(main_params, lr=config.lr, weight_decay=config.weight_decay)
        adversary = (torch.optim.Adam(model.adversary_parameters(), lr=config.lr)
                     if adversary_params else None)
        return cls(main_params, main, adversary, _scheduler(main, config))


@dataclass
class _EpochRun:
    """What one pass over the training digits left: term means, and why it ended early."""

    train: dict[str, float]
    kl_weight: float  # at the last step: validation uses the same weight
    stop_reason: str | None = None
    diverged: bool = False


@dataclass
class _Engine:
    """How each step runs: the module whose forward is called (the model itself, wrapped in
    DDP, or compiled), this rank's world, the random streams and the autocast precision."""

    network: nn.Module
    world: distributed.World
    order_generator: torch.Generator  # each epoch's permutation: the same on every rank
    noise_generator: torch.Generator  # input corruption and shifts: each rank its own
    autocast_dtype: torch.dtype | None  # None: float32 throughout

    def autocast(self, device: torch.device) -> contextlib.AbstractContextManager:
        if self.autocast_dtype is None:  # no autocast object: some devices have none
            return contextlib.nullcontext()
        return torch.autocast(device.type, dtype=self.autocast_dtype)


def _generators(seed: int, world: distributed.World) -> tuple[torch.Generator, torch.Generator]:
    """(shuffling, noise) streams. Every rank must draw the same epoch permutation and its own
    noise; one process draws both from one stream, as it always has, so its runs are as before."""
    order = torch.Generator().manual_seed(seed)
    if not world.is_distributed:
        return order, order
    return order, torch.Generator().manual_seed(seed + 1 + world.rank)


def _network(model: Autoencoder, config: TrainConfig, world: distributed.World,
             device: torch.device) -> nn.Module:
    """The model, in DDP when several ranks train it, compiled when the config asks."""
    network = distributed.wrap(model, world, device)
    if config.compile_mode == "none":
        return network
    if not torch._dynamo.is_dynamo_supported():
        raise ValueError(f"compile_mode={config.compile_mode!r}: torch.compile is not "
                         f"supported by this Python and torch; use compile_mode='none'")
    return torch.compile(network, mode=config.compile_mode)


def _autocast_dtype(config: TrainConfig, device: torch.device) -> torch.dtype | None:
    if config.precision == "float32":
        return None
    if not torch.amp.is_autocast_available(device.type):
        raise ValueError(f"precision={config.precision!r}: no autocast on {device.type}; "
                         f"use precision='float32'")
    return torch.bfloat16


def _train_epoch(model: Autoencoder, images: torch.Tensor, labels: torch.Tensor, epoch: int,
                 config: TrainConfig, optimisers: _Optimisers, engine: _Engine,
                 callbacks: list[Callback], should_stop: Callable[[], bool] | None
                 ) -> _EpochRun:
    """One shuffled pass over this rank's shard of (N, 1, 28, 28) `images`; stops at a
    non-finite loss (weights not yet restored: the caller does that) or when `should_stop()`
    says so after a step. Losses are averaged over the ranks, so every rank reads the same."""
    device, world = images.device, engine.world
    order = torch.randperm(len(images), generator=engine.order_generator).to(device)
    order = distributed.shard(order, world)
    steps = math.ceil(len(order) / config.batch_size)
    totals: dict[str, torch.Tensor] = {}  # on the device: no wait for the GPU at each term
    kl_weight, stop_reason = 1.0, None
    for step in range(1, steps + 1):
        batch = order[(step - 1) * config.batch_size: step * config.batch_size]
        x = random_shift(images[batch], config.augment_shift, engine.noise_generator)
        y = labels[batch]
        model_input = corrupt(x, config.noise_kind, config.noise_level, engine.noise_generator)
        kl_weight = kl_schedule(epoch - 1 + (step - 1) / steps, config.kl_warmup_epochs)
        with engine.autocast(device):
            out = engine.network(model_input, y)
            terms = model.loss(x, out, kl_weight=kl_weight)
        loss = terms["loss"]
        step_loss = float(distributed.average(loss.detach(), world))  # the step's one sync
        if not math.isfinite(step_loss):
            return _EpochRun({}, kl_weight, f"loss became {step_loss} at epoch {epoch}, "
                                            f"step {step}", diverged=True)
        optimisers.main.zero_grad(set_to_none=True)
        loss.backward()
        if config.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(optimisers.main_params, config.grad_clip)
        optimisers.main.step()
        if optimisers.adversary is not None:
            with engine.autocast(device):
                adversary_loss = model.adversary_loss(x, model(model_input, y))
            optimisers.adversary.zero_grad(set_to_none=True)
            adversary_loss.backward()
            distributed.average_gradients(model.adversary_parameters(), world)
            optimisers.adversary.step()
            terms["adversary_loss"] = adversary_loss
        for name, value in terms.items():
            totals[name] = totals.get(name, 0.0) + value.detach().float() * len(batch)
        report = StepReport(epoch, step, steps, step_loss, config.epochs)
        for callback in callbacks:
            callback.on_step_end(report)
        if should_stop is not None and distributed.any_rank(should_stop(), world):
            stop_reason = f"stopped by the user at epoch {epoch}, step {step}"
            break
    seen = min(len(order), step * config.batch_size)
    means = distributed.average(torch.stack(list(totals.values())), world) / seen
    return _EpochRun(dict(zip(totals, means.tolist(), strict=True)), kl_weight, stop_reason)


def _non_finite(model: Autoencoder, val_terms: dict[str, float]) -> str | None:
    """What became non-finite, if anything: the weights, or the validation loss."""
    if not all(torch.isfinite(p).all() for p in model.state_dict().values()
               if p.is_floating_point()):
        return "weights"
    if not all(math.isfinite(v) for v in val_terms.values()):
        return "validation loss"
    return None


# What `_non_finite` found non-finite, as a number rank 0 can broadcast.
NON_FINITE = (None, "weights", "validation loss")


def _restore(model: Autoencoder, last_good: dict[str, torch.Tensor], epoch: int,
             what_happened: str) -> str:
    """Put back the weights of the last good epoch; the stop reason that says so."""
    model.load_state_dict(last_good)
    return f"{what_happened}; kept the weights of epoch {epoch - 1}"


def fit(model: Autoencoder, train_data: Dataset, val_data: Dataset | None, config: TrainConfig,
        callbacks: Iterable[Callback] = (), should_stop: Callable[[], bool] | None = None
        ) -> TrainResult:
    """Train `model` in place on `train_data`; validate on `val_data` after every epoch.

    A non-finite loss stops training, restores the weights of the last good epoch and says
    where it happened in `stop_reason`; `should_stop()` returning True ends it after the step.
    However it ended, when the epoch whose weights the model holds is far worse than the best
    (`blew_up`; past any KL warm-up), the best epoch's weights are put back and the result says
    so (`kept_best`, `best_epoch`, `diverged`). When every epoch ran, the family's
    `after_training` hook fits what it learns from the trained model (a VQ-VAE's code prior),
    each of its epochs heard by `Callback.on_after_training_epoch`; its figures are
    `TrainResult.after_training`.

    Inside a torch.distributed process group (ae_core.distributed: the CLI under torchrun)
    every rank calls this: each trains the model wrapped in DDP on its own share of every
    epoch's digits, all read the same rank-averaged losses, and rank 0 alone validates.
    """
    check_overcomplete(model.config, config)
    callbacks = list(callbacks)
    if len(train_data) == 0:
        raise ValueError(f"{train_data.name} has no training digits (check exclude_classes "
                         f"and val_fraction)")
    world = distributed.current()  # one process, unless torchrun started several
    if len(train_data) < world.size:
        raise ValueError(f"{len(train_data)} training digits cannot be shared by "
                         f"{world.size} processes")
    device = distributed.local_device(pick_device(config.device), world)
    # The VAE's sampling noise draws from the global generator: each rank its own.
    torch.manual_seed(config.seed + world.rank)
    order_generator, noise_generator = _generators(config.seed, world)
    model.to(device).train()
    # The whole dataset lives on the device (60,000 digits are 188 MB as float32): batches
    # are index slices, never a copy from the host.
    images, labels = train_data.float_images(device), train_data.labels.to(device)
    val_images = val_labels = None
    if val_data is not None and len(val_data) and world.is_main:  # only rank 0 validates
        val_images, val_labels = val_data.float_images(device), val_data.labels.to(device)
    model.before_training(images)  # e.g. the linear family's data mean
    optimisers = _Optimisers.for_model(model, config)
    engine = _Engine(_network(model, config, world, device), world, order_generator,
                     noise_generator, _autocast_dtype(config, device))

    for callback in callbacks:
        callback.on_train_start(model, config)
    # The untrained model's validation loss: a run that never beats it learned nothing.
    untrained = (evaluate_terms(model, val_images, val_labels)["loss"]
                 if world.is_main and val_images is not None else None)
    last_good = copy.deepcopy(model.state_dict())
    best_state, best = last_good, 0  # best: the epoch with the lowest loss (0: none yet)
    history: list[EpochReport] = []
    stop_reason, diverged = None, False

    for epoch in range(1, config.epochs + 1):
        started = time.perf_counter()
        run = _train_epoch(model, images, labels, epoch, config, optimisers, engine,
                           callbacks, should_stop)
        if run.diverged:
            stop_reason, diverged = _restore(model, last_good, epoch, run.stop_reason), True
            break
        # Validated before the after_epoch hook, so the figure describes the weights the
        # epoch's training left: a VQ-VAE's hook re-seeds dead codebook entries onto encoder
        # outputs the decoder has not learned yet (after one epoch that read 1,984 against 463
        # in training; the next epoch trains them). The weights are checked after the hook.
        # Only rank 0 validates (it alone reports and saves).
        val_terms = (evaluate_terms(model, val_images, val_labels, kl_weight=run.kl_weight)
                     if world.is_main and val_images is not None else {})
        extras = model.after_epoch(images)
        distributed.share_main_state(model, world)  # a hook's own random draws, made equal
        non_finite = _non_finite(model, val_terms) if world.is_main else None
        non_finite = NON_FINITE[distributed.from_main(NON_FINITE.index(non_finite), world)]
        if non_finite is not None:
            stop_reason = _restore(model, last_good, epoch,
                                   f"{non_finite} became non-finite in epoch {epoch}")
            diverged = True
            break
        report = EpochReport(epoch, config.epochs, run.train, val_terms, run.kl_weight,
                             optimisers.main.param_groups[0]["lr"],
                             time.perf_counter() - started, extras)
        history.append(report)
        last_good = copy.deepcopy(model.state_dict())
        # Losses compare only at the full KL weight: during a warm-up it rises epoch by epoch.
        comparable = not model.is_variational or report.kl_weight >= 1.0
        if comparable and (best == 0 or epoch_loss(report) < epoch_loss(history[best - 1])):
            best_state, best = last_good, epoch  # shared, never mutated: no second copy
        for callback in callbacks:
            callback.on_epoch_end(model, report)
        if optimisers.scheduler is not None:
            optimisers.scheduler.step()
        if run.stop_reason is not None:
            stop_reason = run.stop_reason
            break

    best_epoch = kept_best = None
    if best and best != len(history) and blew_up(epoch_loss(history[-1]),
                                                     epoch_loss(history[best - 1])):
        model.load_state_dict(best_state)
        best_epoch, kept_best, diverged = best, best_epoch_note(history, best), True
    never_learned = _never_learned(history, untrained)
    diverged = diverged or never_learned is not None
    model.eval()
    after_training = {}
    if history and stop_reason is None:  # every epoch ran (a blow-up's best weights kept)
        # Every rank fits it, from the same weights, digits and seed: their models stay equal.
        def report(after: AfterTrainingReport) -> None:
            for callback in callbacks:
                callback.on_after_training_epoch(after)

        after_training = model.after_training(images, val_images, config.seed, report)
    return TrainResult(model, history, str(device), stop_reason, diverged, best_epoch,
                       kept_best, never_learned, world.size, world.backend, after_training)


def _never_learned(history: list[EpochReport], untrained: float | None) -> str | None:
    """Why the run learned nothing (no epoch at the full KL weight validated finite and below
    the untrained model's loss), or None; None too when there is nothing to compare."""
    judged = [report.val["loss"] for report in history
              if report.val and "loss" in report.val and report.kl_weight >= 1.0]
    if untrained is None or not math.isfinite(untrained) or not judged:
        return None
    best = min((loss for loss in judged if math.isfinite(loss)), default=math.inf)
    if best < untrained:
        return None
    return (f"the model never learned: its best validation loss ({best:.4g}) is no better "
            f"than the untrained model's ({untrained:.4g})")


def prepare_data(config: TrainConfig) -> tuple[Dataset, Dataset]:
    """The training set of `config.dataset`, minus excluded classes, split into train/val."""
    dataset = load_dataset(config.dataset, "train").without_classes(config.exclude_classes)
    return train_val_split(dataset, config.val_fraction, config.seed)


def train_model(model_config: ModelConfig, train_config: TrainConfig,
                callbacks: Iterable[Callback] = (),
                should_stop: Callable[[], bool] | None = None,
                data: tuple[Dataset, Dataset] | None = None) -> TrainResult:
    """Load the data, build a fresh seeded model and fit it.

    `data` is `prepare_data(train_config)` when the caller already holds it (a UI caches it).
    """
    check_overcomplete(model_config, train_config)
    train_data, val_data = data if data is not None else prepare_data(train_config)
    torch.manual_seed(train_config.seed)
    model = build_model(model_config)
    return fit(model, train_data, val_data, train_config, callbacks, should_stop)
