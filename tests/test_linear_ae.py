"""The linear autoencoder demonstrates the theorem the bottleneck page states (Baldi & Hornik
1989): trained with squared error it reaches PCA's error and spans PCA's subspace."""

from __future__ import annotations

import pytest
import torch

from ae_core.config import ModelConfig, TrainConfig
from ae_core.data import train_val_split
from ae_core.metrics import angles_to_pca
from ae_core.models import build_model
from ae_core.sweep import pca_curve, reconstruction_mse
from ae_core.train import fit


@pytest.mark.slow
@pytest.mark.parametrize("latent_dim", [2, 8])
def test_a_linear_autoencoder_reaches_pca_and_spans_its_subspace(embedded, latent_dim):
    train, test = train_val_split(embedded, 0.1, 0)
    torch.manual_seed(0)
    model = build_model(ModelConfig(family="linear_ae", latent_dim=latent_dim))
    # The bottleneck page's settings for the linear option, at 20 epochs.
    fit(model, train, None, TrainConfig(epochs=20, lr=2e-2, lr_schedule="cosine"))
    pca = pca_curve(train.float_images(), test.float_images(), [latent_dim])[0]
    mse = reconstruction_mse(model, test.float_images(), test.labels)
    assert mse / pca < 1.02  # measured 1.000 at both sizes
    assert angles_to_pca(model.decoder_basis(), train.float_images()).max() < 10  # 2.2°, 3.9°


def test_a_sigmoid_output_keeps_the_old_linear_option_off_the_pca_line(embedded):
    """What the page offered before: no hidden layer but a sigmoid output (recon_loss mse)."""
    train, test = train_val_split(embedded, 0.1, 0)
    torch.manual_seed(0)
    squashed = build_model(ModelConfig(family="ae", latent_dim=2, hidden_sizes=(),
                                       recon_loss="mse"))
    fit(squashed, train, None, TrainConfig(epochs=5))
    pca = pca_curve(train.float_images(), test.float_images(), [2])[0]
    assert reconstruction_mse(squashed, test.float_images(), test.labels) / pca > 1.1


def test_the_linear_model_has_no_squashing_and_knows_the_mean(embedded):
    model = build_model(ModelConfig(family="linear_ae", latent_dim=3))
    images = embedded.float_images()[:100]
    model.before_training(images)
    torch.testing.assert_close(model.mean, images.flatten(1).mean(dim=0))
    with torch.inference_mode():
        out = model(images)
        shown = model.decode(out.code)
    assert float(out.logits.min()) < 0 or float(out.logits.max()) > 1  # raw, unsquashed
    assert shown.min() >= 0 and shown.max() <= 1
