"""Model families by name; `build_model(config)` is the only way pages and the CLI make one.

Every module in this folder is imported here, and each family registers itself on its class
(`ae_core.registry.register`), so a new family is one new file.
"""

from __future__ import annotations

import importlib
import pkgutil

from ae_core.config import ModelConfig
from ae_core.models.base import Autoencoder, ForwardOutput
from ae_core.registry import REGISTRY

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")


def build_model(config: ModelConfig) -> Autoencoder:
    """A fresh model of `config.family`; an unknown name lists the valid ones."""
    model_class = REGISTRY.get(config.family)
    if model_class is None:
        raise ValueError(
            f"unknown model family {config.family!r}; valid families: {', '.join(REGISTRY)}"
        )
    return model_class(config)


def describe_family(name: str) -> str:
    """The family's one line (its name, for a family this Latent Lab does not know)."""
    model_class = REGISTRY.get(name)
    return model_class.description if model_class is not None else name


__all__ = ["REGISTRY", "Autoencoder", "ForwardOutput", "build_model", "describe_family"]
