"""A plain PyTorch autoencoder that is not from ae_core, trained a few steps on the embedded
digits and exported with torch.onnx.export as README.md shows: what the ONNX tests load."""

from __future__ import annotations

import warnings
from pathlib import Path

import torch
from torch import nn

from ae_core.data import load_embedded

LATENT = 8


def train_plain_autoencoder(steps: int = 150) -> tuple[nn.Module, nn.Module]:
    """An MLP encoder and decoder (logits out), a few Adam steps of BCE on real digits."""
    torch.manual_seed(0)
    encoder = nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, LATENT))
    decoder = nn.Sequential(nn.Linear(LATENT, 128), nn.ReLU(), nn.Linear(128, 784),
                            nn.Unflatten(1, (1, 28, 28)))  # logits; the app applies the sigmoid
    images = load_embedded().float_images()
    optimizer = torch.optim.Adam([*encoder.parameters(), *decoder.parameters()], lr=3e-3)
    for _ in range(steps):
        batch = images[torch.randint(0, len(images), (256,))]
        loss = nn.functional.binary_cross_entropy_with_logits(decoder(encoder(batch)), batch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return encoder.eval(), decoder.eval()


def export_pair(encoder: nn.Module, decoder: nn.Module, folder: Path) -> tuple[Path, Path]:
    """Exported as README.md's example does (its block is run by test_onnx_model.py)."""
    batch = {0: "batch"}  # any number of images at once
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporter's deprecation note
        torch.onnx.export(encoder, torch.rand(1, 1, 28, 28), folder / "encoder.onnx",
                          dynamo=False, input_names=["image"], output_names=["code"],
                          dynamic_axes={"image": batch, "code": batch})
        torch.onnx.export(decoder, torch.rand(1, LATENT), folder / "decoder.onnx",
                          dynamo=False, input_names=["code"], output_names=["image"],
                          dynamic_axes={"code": batch, "image": batch})
    return folder / "encoder.onnx", folder / "decoder.onnx"
