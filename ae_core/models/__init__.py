"""Model families by name; `build_model(config)` is the only way pages and the CLI make one."""

from __future__ import annotations

from ae_core.config import ModelConfig
from ae_core.models.aae import AdversarialAutoencoder
from ae_core.models.base import Autoencoder, ForwardOutput
from ae_core.models.contractive import ContractiveAutoencoder
from ae_core.models.conv import ConvAutoencoder
from ae_core.models.cvae import ConditionalVAE
from ae_core.models.lstm import LSTMAutoencoder
from ae_core.models.mlp import MLPAutoencoder, SparseAutoencoder
from ae_core.models.vae import VAE, ConvVAE
from ae_core.models.vqvae import VQVAE

REGISTRY: dict[str, type[Autoencoder]] = {
    "ae": MLPAutoencoder,
    "conv_ae": ConvAutoencoder,
    "sparse_ae": SparseAutoencoder,
    "vae": VAE,
    "conv_vae": ConvVAE,
    "cvae": ConditionalVAE,
    "vqvae": VQVAE,
    "contractive_ae": ContractiveAutoencoder,
    "aae": AdversarialAutoencoder,
    "lstm_ae": LSTMAutoencoder,
}

DESCRIPTIONS: dict[str, str] = {
    "ae": "MLP autoencoder",
    "conv_ae": "Convolutional autoencoder",
    "sparse_ae": "Sparse autoencoder (L1 on the code)",
    "vae": "Variational autoencoder (MLP)",
    "conv_vae": "Variational autoencoder (convolutional)",
    "cvae": "Conditional VAE (encoder and decoder read the digit's label)",
    "vqvae": "VQ-VAE (a grid of codes from a learned codebook)",
    "contractive_ae": "Contractive autoencoder (penalises the encoder's Jacobian)",
    "aae": "Adversarial autoencoder (a discriminator pushes codes towards a prior)",
    "lstm_ae": "LSTM autoencoder (reads and writes a digit row by row)",
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
