"""Data-parallel training: two gloo processes on the CPU, given the environment torchrun gives
(RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT), train one model on disjoint halves of each epoch
and leave one checkpoint; every family, the adversarial AE's two optimisers and the VQ-VAE's
per-epoch re-seeding included, keeps the same weights on both ranks."""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from ae_core.checkpoint import load_checkpoint
from ae_core.config import ModelConfig, TrainConfig
from ae_core.distributed import World, process_group, shard
from ae_core.models import REGISTRY, build_model
from ae_core.train import Callback, fit, prepare_data
from tests.conftest import family_config

RANKS = 2
ONLY_ZEROS_AND_ONES = tuple(range(2, 10))  # 900 training digits: a quick run
MODEL = ModelConfig(family="ae", latent_dim=4, hidden_sizes=(32,))
BATCH_SIZE = 64  # per rank: 450 digits each, so every epoch ends on a batch of 2
EPOCHS = 2
CLI_ARGS = ["train", "--family", "ae", "--latent-dim", "4", "--hidden-sizes", "32",
            "--epochs", str(EPOCHS), "--batch-size", str(BATCH_SIZE), "--device", "cpu",
            "--exclude-classes", *map(str, ONLY_ZEROS_AND_ONES)]
# Every family, tiny; a codebook far larger than 200 digits fill, so the VQ-VAE re-seeds dead
# entries after each epoch (each rank from its own random draw).
FAMILIES = {family: family_config(family, latent_dim=2, hidden_sizes=(16,),
                                  conv_channels=(4, 4), codebook_size=64)
            for family in sorted(REGISTRY)}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class LastStepWeights(Callback):
    """The weights right after the run's last optimiser step, before any per-epoch hook or
    broadcast could make the ranks equal: what DDP's gradient averaging alone left."""

    def on_train_start(self, model, config) -> None:
        self.model, self.state = model, None

    def on_step_end(self, report) -> None:
        if report.epoch == report.epochs and report.step == report.steps:
            self.state = {name: value.clone() for name, value in self.model.state_dict().items()}


class StepCount(Callback):
    def __init__(self) -> None:
        self.count = 0

    def on_step_end(self, report) -> None:
        self.count += 1


def _rank(rank: int, folder: Path, cli_port: int, fit_port: int) -> None:
    """One process of the two, as torchrun would start it."""
    torch.set_num_threads(1)
    os.environ.update(RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(RANKS),
                      MASTER_ADDR="127.0.0.1", MASTER_PORT=str(cli_port))
    import torch.distributed as dist

    from ae_core import cli
    from ae_core import train as train_module
    from ae_core.data import load_embedded

    # 1. The command line, which joins the process group itself; a hook on the model it
    # builds records every digit this rank trains on.
    models, seen = [], []
    build = train_module.build_model

    def build_and_watch(config: ModelConfig):
        model = build(config)
        model.register_forward_pre_hook(
            lambda module, args: seen.append(args[0].clone()) if module.training else None)
        models.append(model)
        return model

    train_module.build_model = build_and_watch
    code = cli.main([*CLI_ARGS, "--out", str(folder / "model.safetensors")])
    assert code == 0, f"rank {rank}: exit code {code}"
    save_file({**models[0].state_dict(), "seen": torch.cat(seen)},
              folder / f"cli-rank{rank}.safetensors")

    # 2. fit inside a process group the caller made, for every family.
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{fit_port}", rank=rank,
                            world_size=RANKS)
    digits = load_embedded().subset(torch.arange(200), "first-200")
    for family, model_config in FAMILIES.items():
        torch.manual_seed(0)
        last_step = LastStepWeights()
        result = fit(build_model(model_config), digits, None,
                     TrainConfig(epochs=2, batch_size=25, device="cpu"), [last_step])
        reseeded = result.history[0].extras.get("codes_reseeded", 0)
        save_file({**last_step.state, "reseeded": torch.tensor(float(reseeded))},
                  folder / f"{family}-rank{rank}.safetensors")

    # 3. A stop asked of rank 1 alone (after its third step) stops both.
    steps = StepCount()
    result = fit(build_model(MODEL), digits, None, TrainConfig(epochs=3, batch_size=25,
                                                               device="cpu"),
                 [steps], should_stop=lambda: rank == 1 and steps.count >= 3)
    save_file({"steps": torch.tensor(steps.count), "epochs": torch.tensor(len(result.history))},
              folder / f"stop-rank{rank}.safetensors")
    dist.destroy_process_group()


def run_ranks(folder: Path, seconds: float = 180.0) -> None:
    """Both ranks to the end, or the test fails (a rank's exception comes with its traceback)."""
    context = torch.multiprocessing.start_processes(
        _rank, (folder, free_port(), free_port()), nprocs=RANKS, join=False,
        start_method="spawn")
    deadline = time.monotonic() + seconds
    while not context.join(timeout=1):
        if time.monotonic() > deadline:
            for process in context.processes:
                process.kill()
            pytest.fail(f"the {RANKS} ranks did not finish within {seconds:.0f} s")


def digit_indices(images: torch.Tensor, known: dict[bytes, int]) -> list[int]:
    return [known[row.numpy().tobytes()] for row in images]


@pytest.fixture(scope="module")
def ranks_ran(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("ddp")
    run_ranks(folder)
    return folder


@pytest.mark.slow  # two processes start torch: ~50 s on 2 busy cores
def test_one_loadable_checkpoint_says_two_processes_made_it(ranks_ran):
    assert [path.name for path in ranks_ran.glob("*model*")] == ["model.safetensors"]
    checkpoint = load_checkpoint(ranks_ran / "model.safetensors")
    assert checkpoint.info["world_size"] == RANKS and checkpoint.info["backend"] == "gloo"
    assert checkpoint.info["epochs_completed"] == EPOCHS
    assert checkpoint.metrics["loss"] > 0 and "recon_loss" in checkpoint.metrics  # validated
    saved = load_file(ranks_ran / "cli-rank0.safetensors")
    for name, value in checkpoint.model.state_dict().items():
        torch.testing.assert_close(value, saved[name], rtol=0, atol=0)


@pytest.mark.slow
def test_the_ranks_end_with_equal_weights(ranks_ran):
    first, second = (load_file(ranks_ran / f"cli-rank{rank}.safetensors") for rank in (0, 1))
    for name in build_model(MODEL).state_dict():
        torch.testing.assert_close(first[name], second[name], rtol=0, atol=0)


@pytest.mark.slow
def test_each_rank_trains_on_its_own_half_of_every_epoch(ranks_ran):
    train, _ = prepare_data(TrainConfig(exclude_classes=ONLY_ZEROS_AND_ONES))
    known = {image.numpy().tobytes(): index for index, image in
             enumerate(train.float_images())}
    half = len(train) // RANKS
    seen = [load_file(ranks_ran / f"cli-rank{rank}.safetensors")["seen"] for rank in (0, 1)]
    assert [len(images) for images in seen] == [EPOCHS * half] * RANKS
    epochs = []
    for epoch in range(EPOCHS):
        first, second = (set(digit_indices(images[epoch * half:(epoch + 1) * half], known))
                         for images in seen)
        assert len(first) == len(second) == half
        assert not first & second and first | second == set(range(len(train)))
        epochs.append(first)
    assert epochs[0] != epochs[1]  # a new permutation each epoch


@pytest.mark.slow
def test_two_ranks_train_as_one_process_with_twice_the_batch(ranks_ran):
    """DDP averages the two halves' gradients: the step of one batch twice as large."""
    train, val = prepare_data(TrainConfig(exclude_classes=ONLY_ZEROS_AND_ONES))
    torch.manual_seed(0)
    alone = fit(build_model(MODEL), train, val,
                TrainConfig(epochs=EPOCHS, batch_size=RANKS * BATCH_SIZE, device="cpu")).model
    together = load_file(ranks_ran / "cli-rank0.safetensors")
    for name, value in alone.state_dict().items():
        torch.testing.assert_close(together[name], value, rtol=1e-4, atol=1e-4)


@pytest.mark.slow
@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_every_family_keeps_equal_weights_on_both_ranks(family, ranks_ran):
    """Right after the last step, before the broadcast that follows each epoch's hook: DDP
    (and, for an adversary, `average_gradients`) alone kept them equal."""
    first, second = (load_file(ranks_ran / f"{family}-rank{rank}.safetensors")
                     for rank in (0, 1))
    model = build_model(FAMILIES[family])
    if model.has_codebook:  # the broadcast after the hook is what kept the ranks together
        assert first["reseeded"] > 0
    for name in model.state_dict():
        torch.testing.assert_close(first[name], second[name], rtol=0, atol=0)


@pytest.mark.slow
def test_a_stop_asked_of_one_rank_stops_both_after_the_same_step(ranks_ran):
    stops = [load_file(ranks_ran / f"stop-rank{rank}.safetensors") for rank in (0, 1)]
    assert [(int(stop["steps"]), int(stop["epochs"])) for stop in stops] == [(3, 1)] * RANKS


def test_a_shard_is_every_nth_digit_and_the_same_length_on_every_rank():
    order = torch.tensor([7, 3, 9, 0, 4, 8, 1])
    shards = [shard(order, World(rank, 3, "gloo")).tolist() for rank in range(3)]
    assert shards == [[7, 0], [3, 4], [9, 8]]  # 1, the seventh, sits this epoch out
    assert shard(order, World()).tolist() == order.tolist()


def test_without_torchrun_nothing_starts_and_mps_is_refused_under_it(monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    with process_group(torch.device("cpu")) as world:
        assert world == World() and world.is_main and not torch.distributed.is_initialized()
    monkeypatch.setenv("WORLD_SIZE", "2")
    with pytest.raises(ValueError, match="CUDA \\(nccl\\) or the CPU \\(gloo\\), not on mps"):
        with process_group(torch.device("mps")):
            pass
