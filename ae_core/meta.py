"""Building a model on the meta device, to read its shapes before any memory is asked."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch.overrides import TorchFunctionMode


class SkipRandomInit(TorchFunctionMode):
    """Drawing meta tensors at random, filling them with random numbers, scaling them by a
    number or masking a triangle, skipped (the shape stays what it was): meta
    tensors have no values, and these ops on them go through torch's Python references, whose
    first use imports torch's compiler stack (5-12 s and about 150 MB for the first VQ-VAE a
    server loads, benchmarks/README.md). Every other op runs as usual."""

    FILLS = frozenset({torch.nn.init.normal_, torch.nn.init.uniform_,
                       torch.nn.init.trunc_normal_, torch.Tensor.normal_, torch.Tensor.uniform_})
    SAME_SHAPE = frozenset({torch.Tensor.__mul__, torch.Tensor.__rmul__, torch.Tensor.mul,
                            torch.mul, torch.triu, torch.tril, torch.Tensor.triu,
                            torch.Tensor.tril})

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func in (torch.randn, torch.rand):  # on_meta_device's torch.device makes it meta
            return torch.empty(*args, **kwargs)
        if func in self.FILLS:
            tensor = args[0] if args else kwargs.get("tensor")
            if isinstance(tensor, torch.Tensor) and tensor.is_meta:
                return tensor
        if func in self.SAME_SHAPE and len(args) == 2 and not kwargs:
            tensors = [arg for arg in args if isinstance(arg, torch.Tensor)]
            numbers = [arg for arg in args if isinstance(arg, int | float)]
            if len(tensors) == 1 and len(numbers) == 1 and tensors[0].is_meta:
                return tensors[0]
        return func(*args, **kwargs)


@contextmanager
def on_meta_device() -> Iterator[None]:
    """Modules built inside are on the meta device (shapes, no storage), uninitialised."""
    with torch.device("meta"), SkipRandomInit():
        yield
