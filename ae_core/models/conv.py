"""Convolutional autoencoder: strided convolutions down to 7x7, transposed ones back up."""

from __future__ import annotations

import torch
from torch import nn

from ae_core.config import ModelConfig
from ae_core.models.base import CONV_CHANNELS, Autoencoder
from ae_core.registry import register


def downsampling_layers(channels: tuple[int, ...]) -> list[nn.Module]:
    """Stride-2 convolutions with ReLUs, from 1 channel: each halves H and W (28 -> 14 -> 7)."""
    layers: list[nn.Module] = []
    previous = 1
    for count in channels:
        layers += [nn.Conv2d(previous, count, 4, stride=2, padding=1), nn.ReLU()]
        previous = count
    return layers


def upsampling_layers(channels: tuple[int, ...]) -> list[nn.Module]:
    """Mirror of `downsampling_layers`: transposed convolutions from channels[-1] to 1 channel
    of logits (no activation at the end)."""
    layers: list[nn.Module] = []
    outputs = [*reversed(channels[:-1]), 1]
    previous = channels[-1]
    for index, count in enumerate(outputs):
        layers.append(nn.ConvTranspose2d(previous, count, 4, stride=2, padding=1))
        if index < len(outputs) - 1:
            layers.append(nn.ReLU())
        previous = count
    return layers


def conv_encoder(channels: tuple[int, ...]) -> tuple[nn.Sequential, int]:
    """Downsampling then flatten; returns the net and its flattened output size."""
    size = 28 // 2 ** len(channels)
    net = nn.Sequential(*downsampling_layers(channels), nn.Flatten())
    return net, channels[-1] * size * size


def conv_decoder(channels: tuple[int, ...], latent_dim: int) -> nn.Sequential:
    """A linear layer to the smallest feature map, then `upsampling_layers`."""
    size = 28 // 2 ** len(channels)
    return nn.Sequential(
        nn.Linear(latent_dim, channels[-1] * size * size),
        nn.ReLU(),
        nn.Unflatten(1, (channels[-1], size, size)),
        *upsampling_layers(channels),
    )


@register("conv_ae", "Convolutional autoencoder", settings=(CONV_CHANNELS,))
class ConvAutoencoder(Autoencoder):
    """Convolutions keep the 2-D structure that an MLP has to learn from scratch."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__(config)
        features, feature_size = conv_encoder(config.conv_channels)
        self.encoder = nn.Sequential(features, nn.Linear(feature_size, config.latent_dim))
        self.decoder = conv_decoder(config.conv_channels, config.latent_dim)

    def encode(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.encoder(x)

    def decode_logits(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.decoder(z)
