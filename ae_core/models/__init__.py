"""Model families by name; `build_model(config)` is the only way pages and the CLI make one.

Every module in this folder is imported here, and each family registers itself on its class
(`ae_core.registry.register`), so a new family is one new file.
"""

from __future__ import annotations

import importlib
import pkgutil

from ae_core.compute import MAX_CODE_NUMBERS, check_model_cost
from ae_core.config import ModelConfig
from ae_core.meta import on_meta_device
from ae_core.models.base import Autoencoder, ForwardOutput
from ae_core.registry import REGISTRY

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")


# Far above any MNIST model here (the largest shipped one has 1.1 M): a config past it is a
# mistake or an attack (8 layers of 8192 units ask for ~1 G parameters, 4 GB before training).
MAX_PARAMETERS = 20_000_000


def _family(config: ModelConfig) -> type[Autoencoder]:
    model_class = REGISTRY.get(config.family)
    if model_class is None:
        raise ValueError(
            f"unknown model family {config.family!r}; valid families: {', '.join(REGISTRY)}"
        )
    return model_class


def expected_shapes(config: ModelConfig) -> dict[str, tuple[int, ...]]:
    """Every weight's name and shape for `config`, from a model on the meta device: nothing is
    allocated, so a config can be checked (size, a file's tensors) before any memory is asked."""
    with on_meta_device():
        model = _family(config)(config)
    shapes = {name: tuple(value.shape) for name, value in model.state_dict().items()}
    count = sum(parameter.numel() for parameter in model.parameters())
    if count > MAX_PARAMETERS:
        raise ValueError(f"these sizes make a {config.family} model of {count:,} parameters; "
                         f"the limit is {MAX_PARAMETERS:,}")
    if model.latent_dim > MAX_CODE_NUMBERS:  # positions x dimension for a VQ-VAE
        raise ValueError(f"these sizes make a {config.family} code of {model.latent_dim:,} "
                         f"numbers per image; the limit is {MAX_CODE_NUMBERS:,}")
    check_model_cost(config)  # and the compute budget: multiply-adds, activations per image
    return shapes


def build_model(config: ModelConfig) -> Autoencoder:
    """A fresh model of `config.family`; an unknown name lists the valid ones, and a config over
    the parameter budget is refused before anything is allocated."""
    expected_shapes(config)
    return _family(config)(config)


def describe_family(name: str) -> str:
    """The family's one line (its name, for a family this Latent Lab does not know)."""
    model_class = REGISTRY.get(name)
    return model_class.description if model_class is not None else name


def family_title(name: str) -> str:
    """The family's short name for a legend or a sentence ("Linear autoencoder", not
    "linear_ae"): its description, less a long parenthesis."""
    description = describe_family(name)
    return description if len(description) <= 32 else description.split(" (")[0]


__all__ = ["MAX_PARAMETERS", "REGISTRY", "Autoencoder", "ForwardOutput", "build_model",
           "describe_family", "expected_shapes", "family_title"]
