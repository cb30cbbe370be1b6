"""What a model costs to run, counted before it exists: multiply-adds and activations per image.

The parameter budget does not bound compute: a conv_ae with conv_channels (700, 700) has
17.9 M parameters (under the 20 M budget) yet 775 M multiply-adds per image, and once uploaded
it cost the Home page 373 s of server CPU. So a config is built on the meta device (no
memory), given zeroed CPU weights and run once, one image through `reconstruct`, and every
matrix product and convolution is counted from its shapes. (One image costs what the
budget allows, milliseconds; a refused config its own figure, 0.3-0.7 s for the one above.
Running on the meta device instead imports torch's compiler stack, 3-6 s, for its Python
decompositions.) A VQ-VAE's code prior is counted on the meta device over one code grid.

    cost = model_cost(config)  # Cost(macs=1_081_344, activation_bytes=..., parameters=...)
"""

from __future__ import annotations

import json
import math
import threading
import warnings
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch.utils._python_dispatch import TorchDispatchMode

if TYPE_CHECKING:
    from ae_core.config import ModelConfig
    from ae_core.vq_prior import CodePriorConfig

# Multiply-adds per image (encode + decode). The first visit to a page with a model no page has
# shown yet encodes the 5,000 embedded digits, then draws its pictures (the Home page's
# previews, the Sliders page's browser decoder): benchmarks/model_cost.py, one torch thread as
# the app runs, on the 2-core development machine while shared (load average 1.3-6.6), CPU
# seconds: ae_32 (1.1 M) 0.6, conv_ae_32 (3.6 M) 2.0, the lstm_ae default (4.6 M) 2.0, a
# conv_ae of 7.8 M 3.1-3.5 (wall 3.8-9.5 under that load), an MLP of 7.5 M 1.5, an lstm_ae of
# 7.9 M 2.6, a vqvae of 7.8 M 5.9-6.1 (2 s of it the PCA of its 1,568-number codes), a conv_ae
# of 10.5 M 4.1, of 13.6 M 4.3, of 20.1 M 6.4-7.1 (the old limit). So a model at this limit
# costs a first page visit about 5 s at most; the shipped models need 1.1 M (MLPs) to 4.6 M
# (lstm_ae), and every family's default and preset on the Train page is under 5 M. (The
# conv_ae (700, 700) this refuses, 775 M, cost the Home page 373 s.)
MAX_MACS = 8_000_000
# Numbers in one image's code (a VQ-VAE's is positions x dimension): a page keeps the codes of
# 5,000 images and projects them (PCA), and the Home page sweeps up to 512 of them. A
# vqvae of 5.9 M multiply-adds with a code of 25,088 numbers (latent_dim 512) made 500 MB of
# codes and Home previews past 100 s; at 3,920 numbers (latent_dim 80) they took 1.6 s. A flat
# code's own limit is this one (ae_core.config.LATENT_DIM).
MAX_CODE_NUMBERS = 4096
# Bytes of every intermediate result for one image (what a batch keeps for its backward pass,
# per image); the shipped models need under 1 MB.
MAX_ACTIVATION_BYTES = 16 * 1024 * 1024
# A VQ-VAE's code prior over one grid (sampling a grid runs it once per position). The shipped
# one needs 3.3 M; the largest config its limits allowed needed 26 G.
MAX_PRIOR_MACS = 20_000_000


@dataclass(frozen=True)
class Cost:
    macs: int  # multiply-adds per image (per code grid for a prior)
    activation_bytes: int  # bytes of all intermediate results for one image, float32


def _millions(count: int) -> str:
    """'775 M', or '8.1 M' under 100 M (a model just past 8 M must not read '8 M')."""
    return f"{count / 1e6:,.0f} M" if count >= 100_000_000 else f"{count / 1e6:.3g} M"


def _product(values: Any) -> int:
    return math.prod(int(v) for v in values)


class _Counter(TorchDispatchMode):
    """Counts the multiply-adds of matrix products and convolutions from their shapes, and the
    bytes of every result; a Python number asked of a tensor (a label check) reads 0, as it
    would of a meta tensor, so the counts do not depend on the zeroed weights."""

    @classmethod
    def _should_skip_dynamo(cls) -> bool:
        # torch wraps a mode's __torch_dispatch__ in its compiler's `disable` unless this says
        # False; the wrapper's first call imports torch._dynamo (3-6 s). Nothing here is
        # compiled, so there is nothing to disable.
        return False

    def __init__(self) -> None:
        super().__init__()
        self.macs = 0
        self.activation_bytes = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        name = func.overloadpacket.__name__
        if name == "_local_scalar_dense":
            return 0
        if name == "is_nonzero":
            return False
        out = func(*args, **kwargs)
        if name == "linear":
            weight = args[1]
            self.macs += _product(args[0].shape[:-1]) * _product(weight.shape)
        elif name in ("mm", "addmm", "bmm", "baddbmm"):
            first, second = (args[0], args[1]) if name in ("mm", "bmm") else (args[1], args[2])
            self.macs += _product(first.shape) * int(second.shape[-1])
        elif name == "convolution":
            # Each output value meets in_channels/groups x kernel weights; transposed, each
            # input value meets out_channels/groups x kernel (weight[1:] in both layouts).
            weight, transposed = args[1], args[6]
            source = args[0] if transposed else out
            self.macs += source.numel() * _product(weight.shape[1:])
        elif "scaled_dot_product" in name:
            query, key = args[0], args[1]
            self.macs += 2 * _product(query.shape) * int(key.shape[-2])
        for tensor in out if isinstance(out, tuple | list) else (out,):
            if isinstance(tensor, torch.Tensor) and not func.is_view:  # views hold no memory
                self.activation_bytes += 4 * tensor.numel()
        return out


# The configs every server loads (the shipped checkpoints, each family's default, the shipped
# code prior) have their counts here, keyed by the config's repr, so loading them builds
# nothing extra; scripts/known_costs.py writes the file, and a test counts each entry again.
KNOWN_COSTS = Path(__file__).with_name("known_costs.json")


@cache
def known_costs() -> dict[str, Cost]:
    """repr(config) -> Cost for the configs in KNOWN_COSTS (none if the file is unreadable)."""
    try:
        table = json.loads(KNOWN_COSTS.read_text())
    except (OSError, ValueError):
        return {}
    return {key: Cost(int(macs), int(activation_bytes))
            for key, (macs, activation_bytes) in table.items()}


@lru_cache(maxsize=256)
def model_cost(config: ModelConfig) -> Cost:
    """Multiply-adds and activation bytes of `reconstruct` for one image: from KNOWN_COSTS for
    a known config, else counted."""
    return known_costs().get(repr(config)) or count_model_cost(config)


def _zeroed(module: torch.nn.Module) -> torch.nn.Module:
    """`module` (built on the meta device) on the CPU with every weight and buffer zero."""
    module = module.to_empty(device="cpu").eval()
    for tensor in (*module.parameters(), *module.buffers()):
        tensor.detach().zero_()
    return module


# Running a config once costs its multiply-adds, and a hostile one within the parameter budget
# can ask 15 G (a convolution's 20 M weights, each used at every one of 784 positions: 10-30 s
# on one core). `_run_bound` bounds that from the weights alone; past MAX_CPU_COUNT_MACS the
# count runs on the meta device instead, paying torch's compiler import once per process
# (3-6 s) rather than the arithmetic, for a config that is refused anyway.
PIXELS = 28 * 28
ROWS = 28  # a linear layer runs once per image, or once per row of it (a sequence model)
MAX_CPU_COUNT_MACS = 2_000_000_000  # about a second on one core


def _run_bound(model: torch.nn.Module) -> int:
    """An upper bound of one image's multiply-adds: every weight of a linear layer used once per
    row, every other weight (convolutions, recurrent layers, codebooks) once per pixel."""
    bound = 0
    for module in model.modules():
        weights = sum(weight.numel() for weight in module.parameters(recurse=False))
        bound += weights * (ROWS if isinstance(module, torch.nn.Linear) else PIXELS)
    return bound


# The switches _counted turns off are the process's own: one count at a time, so that two
# sessions' counts cannot leave them off (each restoring what the other had set).
_SWITCHES = threading.Lock()


def _counted(run) -> Cost:
    """Run `run()` under a _Counter, its ops as the meta device would run them: without the
    CPU's fused LSTM (oneDNN) and transformer layer, single ops whose products the counter
    would not see. (Another thread's model runs unfused for those milliseconds.)"""
    counter = _Counter()
    with _SWITCHES:
        fast_path = torch.backends.mha.get_fastpath_enabled()
        torch.backends.mha.set_fastpath_enabled(False)
        try:
            with warnings.catch_warnings():  # oneDNN's flags warn of a TF32 setting (Intel GPUs)
                warnings.simplefilter("ignore")
                with torch.backends.mkldnn.flags(enabled=False), torch.no_grad(), counter:
                    run()
        finally:
            torch.backends.mha.set_fastpath_enabled(fast_path)
    return Cost(counter.macs, counter.activation_bytes)


def count_model_cost(config: ModelConfig) -> Cost:
    """What model_cost gives, always counted (one image, zeroed weights, on the CPU): for a
    config within the parameter budget, which ae_core.models.expected_shapes checks first (the
    weights are allocated)."""
    from ae_core.meta import on_meta_device
    from ae_core.registry import family_class

    with on_meta_device():
        model = family_class(config.family)(config)
        if _run_bound(model) > MAX_CPU_COUNT_MACS:  # maybe far too costly to run: shapes only
            return _meta_count(model.eval())
        model = _zeroed(model)
    labels = torch.zeros(1, dtype=torch.long) if model.is_conditional else None
    return _counted(lambda: model.reconstruct(torch.zeros(1, 1, 28, 28), labels))


def _meta_count(model: torch.nn.Module) -> Cost:
    """The count of `model` (on the meta device) from shapes alone, one meta image through."""
    with torch.device("meta"):
        labels = torch.zeros(1, dtype=torch.long) if model.is_conditional else None
        return _counted(lambda: model.reconstruct(torch.zeros(1, 1, 28, 28), labels))


@lru_cache(maxsize=64)
def prior_cost(config: CodePriorConfig) -> Cost:
    """Multiply-adds of a code prior's pass over one grid (KNOWN_COSTS, or counted)."""
    return known_costs().get(repr(config)) or count_prior_cost(config)


def count_prior_cost(config: CodePriorConfig) -> Cost:
    """What prior_cost gives, always counted on the meta device: a prior's limits allow 26 G
    multiply-adds per grid, too many to run for a count, and only a hand-made file brings a
    prior not in KNOWN_COSTS (its first count in a process imports torch's compiler, 3-6 s)."""
    from ae_core.vq_prior import CodePrior

    counter = _Counter()
    with torch.device("meta"):
        prior = CodePrior(config).eval()
        with torch.no_grad(), counter:
            prior(torch.zeros(1, config.positions, dtype=torch.long))
    return Cost(counter.macs, counter.activation_bytes)


def check_model_cost(config: ModelConfig) -> Cost:
    """Refuse (ValueError with the figure) a config over the compute budget."""
    cost = model_cost(config)
    if cost.macs > MAX_MACS:
        raise ValueError(f"these sizes make a {config.family} model of {_millions(cost.macs)} "
                         f"multiply-adds per image; the limit is {_millions(MAX_MACS)}")
    if cost.activation_bytes > MAX_ACTIVATION_BYTES:
        raise ValueError(f"these sizes make a {config.family} model whose activations take "
                         f"{cost.activation_bytes / 2**20:,.0f} MB per image; the limit is "
                         f"{MAX_ACTIVATION_BYTES / 2**20:,.0f} MB")
    return cost


def check_prior_cost(config: CodePriorConfig) -> Cost:
    """Refuse (ValueError with the figure) a code prior over its compute budget."""
    cost = prior_cost(config)
    if cost.macs > MAX_PRIOR_MACS:
        raise ValueError(f"this code prior needs {_millions(cost.macs)} multiply-adds per "
                         f"code grid; the limit is {_millions(MAX_PRIOR_MACS)}")
    return cost
