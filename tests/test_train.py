"""The training loop on real digits: reproducible, validated every epoch, schedules, clipping,
callbacks, stopping early, the NaN stop and denoising."""

from __future__ import annotations

import copy
import math
from dataclasses import replace

import pytest
import torch

from ae_core import train as train_module
from ae_core.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from ae_core.config import ModelConfig, TrainConfig
from ae_core.data import Dataset
from ae_core.models import REGISTRY, Autoencoder, build_model
from ae_core.train import (
    Callback,
    EpochReport,
    ReportProgress,
    StepReport,
    evaluate_terms,
    fit,
    kl_schedule,
    prepare_data,
    train_model,
)
from tests.conftest import family_config

FAMILIES = sorted(REGISTRY)
TRAIN = TrainConfig(epochs=2, batch_size=50, lr=2e-3, device="cpu", seed=0)


def small_model(family: str = "ae", seed: int = 0, **overrides) -> Autoencoder:
    torch.manual_seed(seed)
    values = dict(latent_dim=3, hidden_sizes=(32,), conv_channels=(4, 8), codebook_size=8)
    return build_model(family_config(family, **{**values, **overrides}))


def config(**overrides) -> TrainConfig:
    return TrainConfig(**{**TRAIN.to_dict(), **overrides})


@pytest.fixture(scope="module")
def parts(embedded: Dataset) -> tuple[Dataset, Dataset]:
    """300 training and 100 validation digits, a fixed random draw from the embedded set."""
    order = torch.randperm(len(embedded), generator=torch.Generator().manual_seed(0))
    return embedded.subset(order[:300], "train-300"), embedded.subset(order[300:400], "val-100")


def state_copy(model: Autoencoder) -> dict[str, torch.Tensor]:
    return copy.deepcopy(model.state_dict())


def assert_same_state(actual: dict, expected: dict) -> None:
    assert set(actual) == set(expected)
    for name, value in expected.items():
        torch.testing.assert_close(actual[name], value, rtol=0, atol=0)


def comparable(history: list[EpochReport]) -> list[tuple]:
    return [(r.epoch, r.train, r.val, r.kl_weight, r.lr, r.extras) for r in history]


class Recorder(Callback):
    """Counts every call and keeps each epoch's weights."""

    def __init__(self) -> None:
        self.starts = 0
        self.steps: list[StepReport] = []
        self.epochs: list[EpochReport] = []
        self.weights: list[dict[str, torch.Tensor]] = []

    def on_train_start(self, model: Autoencoder, config: TrainConfig) -> None:
        self.starts += 1

    def on_step_end(self, report: StepReport) -> None:
        self.steps.append(report)

    def on_epoch_end(self, model: Autoencoder, report: EpochReport) -> None:
        self.epochs.append(report)
        self.weights.append(state_copy(model))


# Every family


@pytest.mark.parametrize("family", FAMILIES)
def test_every_family_trains_reproducibly(family, parts):
    """Same seed, same data: identical histories and weights; every loss term is recorded."""
    train, val = parts
    first_model, second_model = small_model(family), small_model(family)
    first = fit(first_model, train, val, TRAIN)
    second = fit(second_model, train, val, TRAIN)
    assert first.stop_reason is None and not first.diverged and first.device == "cpu"
    assert comparable(first.history) == comparable(second.history)
    assert_same_state(second_model.state_dict(), first_model.state_dict())

    x, y = val.float_images()[:8], val.labels[:8]
    terms = set(first_model.loss(x, first_model(x, y)))
    for report in first.history:
        assert set(report.val) == terms
        expected_train = terms | ({"adversary_loss"} if first_model.adversary_parameters()
                                  else set())
        assert set(report.train) == expected_train
        assert all(math.isfinite(v) for v in [*report.train.values(), *report.val.values()])
    assert not first_model.training  # fit hands back a model ready to use


def test_another_seed_trains_differently(parts):
    train, val = parts
    base = fit(small_model("vae"), train, val, TRAIN)
    other = fit(small_model("vae"), train, val, config(seed=1))
    assert base.history[-1].train != other.history[-1].train


def test_training_lowers_the_validation_loss(parts):
    train, val = parts
    model = small_model("ae")
    before = evaluate_terms(model, val.float_images(), val.labels)["loss"]
    result = fit(model, train, val, config(epochs=3))
    losses = [report.val["loss"] for report in result.history]
    assert losses[-1] < 0.8 * before and losses[-1] < losses[0]


# Validation and history


def test_validation_every_epoch(parts):
    train, val = parts
    model = small_model("ae")
    result = fit(model, train, val, config(epochs=3))
    assert [r.epoch for r in result.history] == [1, 2, 3]
    assert all(r.epochs == 3 and r.val and r.seconds > 0 for r in result.history)
    # The last validation is the final model's loss on the validation digits.
    final = evaluate_terms(model, val.float_images(), val.labels)
    assert result.history[-1].val == pytest.approx(final, rel=1e-5)
    assert result.final_metrics() == result.history[-1].val
    assert result.epochs_completed == 3


def test_validation_is_measured_before_the_after_epoch_hook(parts):
    """A VQ-VAE's hook re-seeds dead codebook entries, which the decoder has not learned yet:
    the validation loss must describe the epoch's training, not the re-seeded weights."""
    train, val = parts
    model = small_model("ae")
    seen: list[float] = []

    def reseed_like_hook(images: torch.Tensor) -> dict:
        seen.append(evaluate_terms(model, val.float_images(), val.labels)["loss"])
        with torch.no_grad():
            for parameter in model.decoder.parameters():
                parameter.add_(torch.randn_like(parameter))  # far worse weights from here on
        return {}

    model.after_epoch = reseed_like_hook
    result = fit(model, train, val, config(epochs=1))
    assert result.history[0].val["loss"] == pytest.approx(seen[0], rel=1e-5)
    perturbed = evaluate_terms(model, val.float_images(), val.labels)["loss"]
    assert perturbed > 1.5 * seen[0]  # the hook did change what validation would have seen


def test_without_validation(parts):
    train, _ = parts
    result = fit(small_model("ae"), train, None, TRAIN)
    assert all(r.val == {} and r.train for r in result.history)
    assert result.final_metrics() == result.history[-1].train


def test_evaluate_terms_weights_batches_by_size(parts):
    _, val = parts
    model = small_model("ae")
    images, labels = val.float_images(), val.labels
    whole = evaluate_terms(model, images, labels)
    in_sevens = evaluate_terms(model, images, labels, batch_size=7)  # last batch has 2
    assert in_sevens == pytest.approx(whole, rel=1e-5)
    assert model.training  # evaluation leaves the mode as it found it


# Schedules and clipping


def test_kl_schedule_values():
    assert kl_schedule(0.0, 0) == 1.0 and kl_schedule(0.3, 0) == 1.0
    assert kl_schedule(0.0, 4) == 0.0
    assert kl_schedule(1.0, 4) == 0.25 and kl_schedule(3.0, 4) == 0.75
    assert kl_schedule(4.0, 4) == 1.0 and kl_schedule(9.0, 4) == 1.0


def test_kl_warmup_in_training(parts):
    train, val = parts
    result = fit(small_model("vae", beta=2.0), train, val, config(epochs=3, kl_warmup_epochs=2))
    weights = [r.kl_weight for r in result.history]
    steps = math.ceil(len(train) / TRAIN.batch_size)
    # The weight of each epoch's last step: it ramps over two epochs, then stays at 1.
    assert weights == pytest.approx([(steps - 1) / steps / 2, (2 * steps - 1) / steps / 2, 1.0])
    for report in result.history:  # validation uses the epoch's weight, times beta
        terms = report.val
        assert terms["loss"] == pytest.approx(
            terms["recon_loss"] + 2.0 * report.kl_weight * terms["kl_loss"], rel=1e-4)
    no_warmup = fit(small_model("vae"), train, val, TRAIN)
    assert [r.kl_weight for r in no_warmup.history] == [1.0, 1.0]


@pytest.mark.parametrize("schedule", ["none", "cosine", "step"])
def test_lr_schedules(schedule, parts):
    train, _ = parts
    lr, epochs = 1e-2, 3
    result = fit(small_model("ae"), train, None, config(epochs=epochs, lr=lr,
                                                       lr_schedule=schedule))
    expected = {
        "none": [lr] * epochs,
        "cosine": [lr * (1 + math.cos(math.pi * e / epochs)) / 2 for e in range(epochs)],
        "step": [lr, lr * 0.3, lr * 0.09],  # step size epochs // 3 = 1, gamma 0.3
    }[schedule]
    assert [r.lr for r in result.history] == pytest.approx(expected)


@pytest.mark.parametrize("grad_clip", [0.0, 0.5])
def test_gradient_clipping(grad_clip, parts, monkeypatch):
    train, _ = parts
    clip = torch.nn.utils.clip_grad_norm_
    norms: list[tuple[float, float]] = []

    def spy(parameters, max_norm, *args, **kwargs):
        parameters = list(parameters)
        before = clip(parameters, max_norm, *args, **kwargs)
        after = torch.linalg.vector_norm(torch.stack([p.grad.norm() for p in parameters]))
        norms.append((float(before), float(after)))
        assert max_norm == grad_clip
        return before

    monkeypatch.setattr(torch.nn.utils, "clip_grad_norm_", spy)
    fit(small_model("vae"), train, None, config(epochs=1, grad_clip=grad_clip))
    if grad_clip == 0:
        assert norms == []
        return
    assert len(norms) == math.ceil(len(train) / TRAIN.batch_size)  # every step
    assert max(before for before, _ in norms) > grad_clip  # a VAE's summed loss: big gradients
    assert all(after <= grad_clip * 1.001 for _, after in norms)


# Callbacks and stopping early


def test_callbacks_are_called(parts):
    train, val = parts
    recorder = Recorder()
    result = fit(small_model("ae"), train, val, config(epochs=2, batch_size=64), [recorder])
    steps = math.ceil(300 / 64)
    assert recorder.starts == 1
    assert [(s.epoch, s.step, s.steps) for s in recorder.steps] == [
        (epoch, step, steps) for epoch in (1, 2) for step in range(1, steps + 1)]
    assert all(math.isfinite(s.loss) for s in recorder.steps)
    assert recorder.epochs == result.history


def test_each_step_knows_the_fraction_of_the_run_done(parts):
    train, val = parts
    recorder = Recorder()
    fit(small_model("ae"), train, val, config(epochs=2, batch_size=64), [recorder])
    steps = math.ceil(300 / 64)
    assert all(report.epochs == 2 for report in recorder.steps)
    assert [report.fraction for report in recorder.steps] == pytest.approx(
        [index / (2 * steps) for index in range(1, 2 * steps + 1)])


def test_report_progress_maps_the_run_onto_its_span(parts):
    train, val = parts
    calls: list[tuple[float, str]] = []
    progress = ReportProgress(lambda fraction, message: calls.append((fraction, message)),
                              span=(0.5, 0.75))
    fit(small_model("ae"), train, val, config(epochs=2, batch_size=64), [progress])
    steps = math.ceil(300 / 64)
    assert len(calls) == 2 * steps
    fractions = [fraction for fraction, _ in calls]
    assert fractions[0] == pytest.approx(0.5 + 0.25 / (2 * steps))
    assert fractions == sorted(fractions) and fractions[-1] == pytest.approx(0.75)
    assert calls[-1][1].startswith(f"epoch 2/2 · step {steps}/{steps} · loss ")


def test_report_progress_throttles_all_but_each_epochs_last_step(parts, monkeypatch):
    train, val = parts
    clock = iter(range(1000))  # one second later at every step
    monkeypatch.setattr(train_module.time, "monotonic", lambda: next(clock))
    reported: list[float] = []
    progress = ReportProgress(lambda fraction, message: reported.append(fraction),
                              min_seconds=2.5)
    fit(small_model("ae"), train, val, config(epochs=2, batch_size=64), [progress])
    assert math.ceil(300 / 64) == 5  # steps per epoch, at t = 0, 1, ... 9 s
    # t=0 (the first), t=3, t=4 (an epoch's last), t=7, t=9 (the run's last) report.
    assert reported == pytest.approx([1 / 10, 4 / 10, 5 / 10, 8 / 10, 10 / 10])


def test_should_stop_ends_early_and_keeps_progress(parts):
    train, val = parts
    recorder = Recorder()
    model = small_model("ae")
    stop_after = {"epoch": 2, "step": 3}
    at_stop: dict[str, torch.Tensor] = {}

    def should_stop() -> bool:
        last = recorder.steps[-1]
        if (last.epoch, last.step) == (stop_after["epoch"], stop_after["step"]):
            at_stop.update(state_copy(model))
            return True
        return False

    result = fit(model, train, val, config(epochs=5), [recorder], should_stop)
    assert result.stop_reason == "stopped by the user at epoch 2, step 3"
    assert not result.diverged
    assert len(recorder.steps) == 6 + 3  # epoch 1's six steps, then three
    # The interrupted epoch is reported and validated, and its three steps are kept.
    assert [r.epoch for r in result.history] == [1, 2] and result.history[1].val
    assert_same_state(model.state_dict(), at_stop)
    with pytest.raises(AssertionError):
        assert_same_state(model.state_dict(), recorder.weights[0])


# The NaN stop


class Poison(Callback):
    """At the end of a chosen step, makes the next loss non-finite."""

    def __init__(self, model: Autoencoder, epoch: int, step: int, how: str) -> None:
        self.model, self.epoch, self.step, self.how = model, epoch, step, how
        self.armed = False
        self.snapshots: list[dict[str, torch.Tensor]] = []

    def on_step_end(self, report: StepReport) -> None:
        if (report.epoch, report.step) != (self.epoch, self.step):
            return
        if self.how == "nan_weights":
            with torch.no_grad():
                next(self.model.parameters()).fill_(float("nan"))
        else:
            self.armed = True

    def on_epoch_end(self, model: Autoencoder, report: EpochReport) -> None:
        self.snapshots.append(state_copy(model))


@pytest.mark.parametrize("how", ["nan_weights", "inf_loss"])
def test_non_finite_loss_stops_and_keeps_the_last_good_weights(how, parts, tmp_path):
    train, val = parts
    model = small_model("vae")
    poison = Poison(model, epoch=2, step=2, how=how)
    if how == "inf_loss":
        loss = model.loss

        def poisoned(x, out, kl_weight=1.0):
            terms = loss(x, out, kl_weight)
            if poison.armed:
                terms["loss"] = terms["loss"] * float("inf")
            return terms

        model.loss = poisoned
    result = fit(model, train, val, config(epochs=4), [poison])
    assert result.diverged
    assert "epoch 2, step 3" in result.stop_reason
    assert ("nan" if how == "nan_weights" else "inf") in result.stop_reason
    assert "kept the weights of epoch 1" in result.stop_reason
    assert len(result.history) == 1 and len(poison.snapshots) == 1
    state = model.state_dict()
    assert all(torch.isfinite(value).all() for value in state.values())
    assert_same_state(state, poison.snapshots[0])
    # What is kept can be saved and loads again.
    loaded = load_checkpoint(save_checkpoint(tmp_path / "kept.safetensors", model))
    assert_same_state(loaded.model.state_dict(), poison.snapshots[0])


def test_divergence_in_the_first_step_keeps_the_initial_weights(parts):
    train, val = parts
    model = small_model("ae")
    initial = state_copy(model)
    loss = model.loss
    model.loss = lambda x, out, kl_weight=1.0: {**loss(x, out, kl_weight),
                                                "loss": torch.tensor(float("nan"))}
    result = fit(model, train, val, TRAIN)
    assert result.diverged and result.history == []
    assert result.stop_reason.startswith("loss became nan at epoch 1, step 1;")
    assert_same_state(model.state_dict(), initial)  # the weights it was given, untouched


def test_nan_weights_after_an_epochs_last_step_are_not_kept(parts, tmp_path):
    train, _ = parts
    model = small_model("ae")
    steps = math.ceil(len(train) / TRAIN.batch_size)
    poison = Poison(model, epoch=1, step=steps, how="nan_weights")
    result = fit(model, train, None, config(epochs=3), [poison])
    assert result.diverged
    assert all(torch.isfinite(value).all() for value in model.state_dict().values())


class BlowUp(Callback):
    """After epoch `epoch`, multiplies every weight by `factor`: the later epochs end far worse
    but finite, like a learning rate far too high (`--lr 10`)."""

    def __init__(self, epoch: int, factor: float = 100.0) -> None:
        self.epoch, self.factor = epoch, factor
        self.snapshots: list[dict[str, torch.Tensor]] = []

    def on_epoch_end(self, model: Autoencoder, report: EpochReport) -> None:
        self.snapshots.append(state_copy(model))
        if report.epoch == self.epoch:
            with torch.no_grad():
                for parameter in model.parameters():
                    parameter.mul_(self.factor)


def test_a_late_blow_up_keeps_the_best_epoch(parts):
    train, val = parts
    model = small_model("ae")
    blow_up = BlowUp(epoch=2)
    result = fit(model, train, val, config(epochs=4), [blow_up])
    losses = [report.val["loss"] for report in result.history]
    assert len(losses) == 4 and all(math.isfinite(loss) for loss in losses)
    assert losses[-1] > 2 * min(losses)  # finite, and far worse than the best
    best = losses.index(min(losses)) + 1
    assert best <= 2 and result.best_epoch == best
    assert result.diverged and result.stop_reason is None
    assert f"kept the weights of epoch {best}" in result.kept_best
    assert "more than 2x worse" in result.kept_best
    assert_same_state(model.state_dict(), blow_up.snapshots[best - 1])
    assert result.final_metrics() == result.history[best - 1].val


def test_an_ordinary_run_keeps_its_last_epoch(parts):
    train, val = parts
    result = fit(small_model("ae"), train, val, config(epochs=3))
    assert result.best_epoch is None and result.kept_best is None and not result.diverged
    assert result.final_metrics() == result.history[-1].val


@pytest.mark.parametrize("final, best, expected", [
    (7e11, 0.03, True), (0.061, 0.03, True), (0.059, 0.03, False), (0.03, 0.03, False),
    (float("nan"), 0.03, True), (-5.0, -10.0, False), (5.0, -10.0, True),
])
def test_blew_up_rule(final, best, expected):
    assert train_module.blew_up(final, best) is expected


def test_a_diverged_model_is_never_saved(tmp_path):
    model = small_model("ae")
    with torch.no_grad():
        model.encoder[0].bias.fill_(float("nan"))
    with pytest.raises(CheckpointError, match="NaN"):
        save_checkpoint(tmp_path / "nan.safetensors", model)
    assert list(tmp_path.iterdir()) == []


# Denoising


class InputSpy:
    """Wraps a model's forward and loss to record what the encoder read and what the loss
    compared against, step by step."""

    def __init__(self, model: Autoencoder) -> None:
        self.inputs: list[torch.Tensor] = []
        self.targets: list[torch.Tensor] = []
        forward, loss = model.forward, model.loss

        def spy_forward(x, labels=None):
            self.inputs.append(x.detach().clone())
            return forward(x, labels)

        def spy_loss(x, out, kl_weight=1.0):
            self.targets.append(x.detach().clone())
            return loss(x, out, kl_weight)

        model.forward, model.loss = spy_forward, spy_loss


@pytest.mark.parametrize("kind, level", [("none", 0.0), ("gaussian", 0.3),
                                         ("salt_pepper", 0.2), ("mask", 0.25)])
def test_denoising_corrupts_inputs_but_targets_clean_images(kind, level, parts):
    train, _ = parts
    model = small_model("ae")
    spy = InputSpy(model)
    fit(model, train, None, config(epochs=1, noise_kind=kind, noise_level=level))
    clean = {row.numpy().tobytes() for row in train.float_images().flatten(1)}
    steps = math.ceil(len(train) / TRAIN.batch_size)
    assert len(spy.inputs) == len(spy.targets) == steps
    for model_input, target in zip(spy.inputs, spy.targets, strict=True):
        # The loss always compares with clean training digits...
        assert all(row.numpy().tobytes() in clean for row in target.flatten(1))
        assert 0 <= float(model_input.min()) and float(model_input.max()) <= 1
        changed = (model_input != target).float().mean()
        # ...while the encoder reads corrupted ones (or the same digits without noise).
        if kind == "none":
            assert torch.equal(model_input, target)
        elif kind == "gaussian":
            assert changed > 0.5 and 0.1 < float((model_input - target).abs().mean()) < 0.3
        elif kind == "salt_pepper":
            assert 0.08 < changed < 0.2  # a fifth of the pixels, half already at their value
        else:
            zeroed = (model_input == 0) & (target > 0)
            assert zeroed.any() and torch.equal(model_input[model_input != 0],
                                                target[model_input != 0])


# Data preparation


def test_prepare_data_excludes_classes_and_splits(digits: Dataset, monkeypatch):
    monkeypatch.setattr(train_module, "load_dataset", lambda name, split: digits)
    train, val = prepare_data(TrainConfig(exclude_classes=(3, 9), val_fraction=0.25, seed=4))
    assert (len(train), len(val)) == (120, 40)
    assert not torch.isin(torch.cat([train.labels, val.labels]), torch.tensor([3, 9])).any()
    again = prepare_data(TrainConfig(exclude_classes=(3, 9), val_fraction=0.25, seed=4))
    assert torch.equal(again[1].images, val.images)


def test_train_model_builds_a_seeded_model(digits: Dataset, monkeypatch):
    monkeypatch.setattr(train_module, "load_dataset", lambda name, split: digits)
    model_config = ModelConfig(family="vae", latent_dim=2, hidden_sizes=(16,))
    first = train_model(model_config, config(epochs=1))
    second = train_model(model_config, config(epochs=1))
    assert first.model.config == model_config and first.epochs_completed == 1
    assert_same_state(first.model.state_dict(), second.model.state_dict())


def test_an_empty_training_set_is_a_clear_error(digits: Dataset):
    empty = digits.subset(torch.arange(0))
    with pytest.raises(ValueError, match="no training"):
        fit(small_model("ae"), empty, None, TRAIN)


def test_random_shift_moves_each_digit_within_the_bound():
    from ae_core.augment import random_shift

    images = torch.zeros(64, 1, 28, 28)
    images[:, 0, 14, 14] = 1.0
    moved = random_shift(images, 2, torch.Generator().manual_seed(0))
    positions = torch.stack([(image[0] == 1).nonzero()[0] for image in moved])
    assert moved.shape == images.shape and moved.sum() == 64  # moved, never lost or blurred
    assert positions.min() >= 12 and positions.max() <= 16
    assert len({tuple(p.tolist()) for p in positions}) > 10  # each digit its own offset
    assert torch.equal(random_shift(images, 0), images)


def test_augmented_training_differs_and_stays_reproducible(parts):
    train, val = parts
    plain = fit(small_model("ae"), train, val, TRAIN)
    shifted = [fit(small_model("ae"), train, val, replace(TRAIN, augment_shift=2))
               for _ in range(2)]
    assert shifted[0].history[-1].train != plain.history[-1].train
    assert shifted[0].history[-1].train == shifted[1].history[-1].train
    with pytest.raises(ValueError, match="augment_shift"):
        replace(TRAIN, augment_shift=9)


# The GPU path's options, on every device at hand (the CPU here; CUDA on a GPU machine)

DEVICES = ["cpu", *(["cuda"] if torch.cuda.is_available() else [])]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("family", ["ae", "conv_ae"])
def test_bfloat16_autocast_trains_in_bf16_and_keeps_float32_weights(family, device, parts):
    train, val = parts
    model = small_model(family)
    layer = next(m for m in model.modules() if isinstance(m, torch.nn.Linear | torch.nn.Conv2d))
    dtypes = {True: set(), False: set()}  # training, validation
    layer.register_forward_hook(lambda module, args, out: dtypes[module.training].add(out.dtype))
    result = fit(model, train, val, config(epochs=1, precision="bfloat16", device=device))
    assert dtypes == {True: {torch.bfloat16}, False: {torch.float32}}
    assert all(parameter.dtype == torch.float32 for parameter in model.parameters())
    plain = fit(small_model(family), train, val, config(epochs=1, device=device))
    bf16_loss, float32_loss = result.history[-1].val["loss"], plain.history[-1].val["loss"]
    assert math.isfinite(bf16_loss) and abs(bf16_loss - float32_loss) < 0.02 * float32_loss


def test_compile_mode_compiles_the_forward(parts, monkeypatch):
    """torch.compile gets the model and the mode. Dynamo's eager backend stands in for
    inductor, which took 106 s to compile this model's C++ on 2 busy CPU cores; benchmarks/
    gpu.sh runs the real one on CUDA (test_compiled_training_on_cuda)."""
    compiled = []
    real_compile = torch.compile

    def compile_eagerly(module, mode=None):
        compiled.append((module, mode))
        return real_compile(module, backend="eager")

    monkeypatch.setattr(torch, "compile", compile_eagerly)
    torch._dynamo.reset()
    torch._dynamo.utils.counters.clear()
    train, _ = parts
    model = small_model("ae")
    result = fit(model, train, None, config(epochs=1, compile_mode="max-autotune"))
    assert compiled == [(model, "max-autotune")]
    assert torch._dynamo.utils.counters["stats"]["unique_graphs"] >= 1  # traced, not skipped
    plain = fit(small_model("ae"), train, None, config(epochs=1))
    assert result.history[-1].train == pytest.approx(plain.history[-1].train, rel=1e-5)


@pytest.mark.slow
@pytest.mark.skipif(not torch.cuda.is_available(), reason="inductor on CUDA: a GPU machine")
def test_compiled_training_on_cuda(parts):
    train, val = parts
    result = fit(small_model("conv_ae"), train, val,
                 config(epochs=2, device="cuda", compile_mode="default"))
    plain = fit(small_model("conv_ae"), train, val, config(epochs=2, device="cuda"))
    assert result.history[-1].val["loss"] == pytest.approx(plain.history[-1].val["loss"],
                                                           rel=0.02)


def test_options_the_machine_cannot_honour_are_refused(parts, monkeypatch):
    train, _ = parts
    monkeypatch.setattr(torch._dynamo, "is_dynamo_supported", lambda: False)
    with pytest.raises(ValueError, match="compile_mode='default': torch.compile is not"):
        fit(small_model("ae"), train, None, config(compile_mode="default"))
    monkeypatch.setattr(torch.amp, "is_autocast_available", lambda device_type: False)
    with pytest.raises(ValueError, match="precision='bfloat16': no autocast on cpu"):
        fit(small_model("ae"), train, None, config(precision="bfloat16"))
    for name, value in (("precision", "float16"), ("compile_mode", "fast")):
        with pytest.raises(ValueError, match=f"{name}='{value}' is not one of"):
            config(**{name: value})
