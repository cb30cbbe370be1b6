"""Data-parallel training under torchrun: the process group, each rank's shard of the digits,
and the few collectives the loop needs; PyTorch's DistributedDataParallel averages the model's
gradients.

Without torchrun (no WORLD_SIZE, or 1) nothing here starts anything: `current()` is a world of
one and every helper hands back its input, so the loop reads the same either way.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from ae_core.models import Autoencoder


@dataclass(frozen=True)
class World:
    """Which process this is among how many, and how they talk."""

    rank: int = 0
    size: int = 1
    backend: str | None = None  # "gloo" (CPU) or "nccl" (CUDA); None for one process

    @property
    def is_main(self) -> bool:
        """Rank 0 validates, reports progress and writes the checkpoint."""
        return self.rank == 0

    @property
    def is_distributed(self) -> bool:
        return self.size > 1


def current() -> World:
    """The world of the process group this process has joined; a world of one otherwise."""
    if not (dist.is_available() and dist.is_initialized()):
        return World()
    return World(dist.get_rank(), dist.get_world_size(), dist.get_backend())


@contextmanager
def process_group(device: torch.device) -> Iterator[World]:
    """Join torchrun's process group when WORLD_SIZE > 1 (gloo on the CPU, nccl on CUDA, each
    rank on the card LOCAL_RANK names) and leave it on exit; a world of one otherwise."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1 or dist.is_initialized():
        yield current()
        return
    if device.type not in ("cpu", "cuda"):
        raise ValueError(f"data-parallel training runs on CUDA (nccl) or the CPU (gloo), "
                         f"not on {device.type}")
    if device.type == "cuda":
        card = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(card)
        dist.init_process_group("nccl", device_id=card)  # env:// as torchrun sets it
    else:
        dist.init_process_group("gloo")
    try:
        yield current()
    finally:
        dist.destroy_process_group()


def local_device(device: torch.device, world: World) -> torch.device:
    """The card this rank trains on: its own (set by `process_group`) when several share CUDA."""
    if world.is_distributed and device.type == "cuda":
        return torch.device("cuda", torch.cuda.current_device())
    return device


def shard(order: torch.Tensor, world: World) -> torch.Tensor:
    """This rank's share of an epoch's permutation (N,) -> (N // size,): every size-th digit
    from its rank on, so each global batch is spread over the ranks. Every rank gets as many,
    and so takes as many steps; up to size - 1 digits sit the epoch out (others each epoch)."""
    usable = len(order) - len(order) % world.size
    return order[world.rank:usable:world.size]


def wrap(model: Autoencoder, world: World, device: torch.device) -> nn.Module:
    """The module whose forward the loop calls: DDP for several ranks, the model for one.

    An adversary (ae_core.models.aae) trains on its own loss after the model's step, outside
    DDP's forward: DDP leaves its parameters out, and `average_gradients` averages them.
    """
    if not world.is_distributed:
        return model
    adversary = {id(parameter) for parameter in model.adversary_parameters()}
    ignored = [name for name, parameter in model.named_parameters() if id(parameter) in adversary]
    DistributedDataParallel._set_params_and_buffers_to_ignore_for_model(model, ignored)
    return DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda"
                                   else None)


def _collective_device(tensor: torch.Tensor, world: World) -> torch.device:
    """Where the backend reduces: gloo on the CPU, nccl on the tensor's card."""
    return torch.device("cpu") if world.backend == "gloo" else tensor.device


def _flag_device(world: World) -> torch.device:
    """Where a one-number message between the ranks lives: nccl sends only from a card."""
    return torch.device("cuda" if world.backend == "nccl" else "cpu")


def _all_reduce(tensor: torch.Tensor, world: World, largest: bool = False) -> torch.Tensor:
    """A reduced copy of `tensor` (the sum, or the `largest`), made where the backend reduces,
    back on its own device. (ReduceOp is named only here: torch builds without distributed
    support lack it, and this module must still import there.)"""
    moved = tensor.detach().to(_collective_device(tensor, world)).clone()
    dist.all_reduce(moved, op=dist.ReduceOp.MAX if largest else dist.ReduceOp.SUM)
    return moved.to(tensor.device)


def average(tensor: torch.Tensor, world: World) -> torch.Tensor:
    """The mean of `tensor` over the ranks (the tensor itself for one process)."""
    if not world.is_distributed:
        return tensor
    return _all_reduce(tensor, world) / world.size


def any_rank(flag: bool, world: World) -> bool:
    """True on every rank when it is True on any (a stop one rank was asked for)."""
    if not world.is_distributed:
        return flag
    flag_tensor = torch.tensor([int(flag)], device=_flag_device(world))
    return bool(_all_reduce(flag_tensor, world, largest=True).item())


def from_main(value: int, world: World) -> int:
    """Rank 0's `value` on every rank (a decision only rank 0 could make)."""
    if not world.is_distributed:
        return value
    tensor = torch.tensor([value], device=_flag_device(world))
    dist.broadcast(tensor, src=0)
    return int(tensor.item())


def average_gradients(parameters: Iterable[nn.Parameter], world: World) -> None:
    """Average, in place, the gradients DDP does not see (an adversary's)."""
    if not world.is_distributed:
        return
    for parameter in parameters:
        if parameter.grad is not None:
            parameter.grad.copy_(average(parameter.grad, world))


@torch.no_grad()
def share_main_state(model: nn.Module, world: World) -> None:
    """Rank 0's parameters and buffers on every rank: after a per-epoch hook (the VQ-VAE
    re-seeding dead codebook entries from its own random draw) the ranks could differ."""
    if not world.is_distributed:
        return
    for tensor in [*model.parameters(), *model.buffers()]:
        moved = tensor.detach().to(_collective_device(tensor, world)).clone()
        dist.broadcast(moved, src=0)
        tensor.copy_(moved)


def barrier(world: World) -> None:
    """Wait for every rank (after rank 0 alone downloaded a dataset)."""
    if world.is_distributed:
        dist.barrier()
