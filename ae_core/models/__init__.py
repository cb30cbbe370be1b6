"""Model families by name; `build_model(config)` is the only way pages and the CLI make one."""

from __future__ import annotations

from ae_core.config import ModelConfig
from ae_core.models.base import Autoencoder, ForwardOutput
from ae_core.models.conv import ConvAutoencoder
from ae_core.models.mlp import MLPAutoencoder, SparseAutoencoder
from ae_core.models.vae import VAE, ConvVAE

REGISTRY: dict[str, type[Autoencoder]] = {
    "ae": MLPAutoencoder,
    "conv_ae": ConvAutoencoder,
    "sparse_ae": SparseAutoencoder,
    "vae": VAE,
    "conv_vae": ConvVAE,
}

DESCRIPTIONS: dict[str, str] = {
    "ae": "MLP autoencoder",
    "conv_ae": "Convolutional autoencoder",
    "sparse_ae": "Sparse autoencoder (L1 on the code)",
    "vae": "Variational autoencoder (MLP)",
    "conv_vae": "Variational autoencoder (convolutional)",
}


def build_model(config: ModelConfig) -> Autoencoder:
    """A fresh model of `config.family`; an unknown name lists the valid ones."""
    model_class = REGISTRY.get(config.family)
    if model_class is None:
        raise ValueError(
            f"unknown model family {config.family!r}; valid families: {', '.join(REGISTRY)}"
        )
    return model_class(config)


__all__ = ["REGISTRY", "DESCRIPTIONS", "Autoencoder", "ForwardOutput", "build_model"]
