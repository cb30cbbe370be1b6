"""The Wasserstein autoencoder (WAE-MMD): its MMD penalty and what it does to the codes.
Shapes, loss terms, gradients, checkpoints, the CLI and the pages test it with every family."""

from __future__ import annotations

import torch

from ae_core.config import ModelConfig, TrainConfig
from ae_core.models import build_model
from ae_core.models.wae import mmd
from ae_core.train import fit


def test_mmd_is_near_zero_for_the_prior_and_grows_with_a_shift():
    generator = torch.Generator().manual_seed(0)
    codes, samples = (torch.randn(500, 8, generator=generator) for _ in range(2))
    assert abs(float(mmd(codes, samples))) < 0.005
    shifted = [float(mmd(codes + shift, samples)) for shift in (0.5, 1.0, 2.0)]
    assert 0.01 < shifted[0] < shifted[1] < shifted[2]
    assert float(mmd(codes[:1], samples[:1])) == 0.0  # one code has no pairs


def test_the_loss_adds_the_weighted_mmd(batch):
    x, y = batch
    model = build_model(ModelConfig(family="wae", latent_dim=4, hidden_sizes=(32,),
                                    mmd_weight=3.0))
    out = model(x, y)
    torch.manual_seed(0)
    terms = model.loss(x, out)
    torch.manual_seed(0)
    expected = mmd(out.code, torch.randn_like(out.code))
    torch.testing.assert_close(terms["mmd_loss"], expected)
    torch.testing.assert_close(terms["loss"], terms["recon_loss"] + 3.0 * expected)


def test_the_penalty_pulls_the_codes_to_the_prior(digits):
    """Trained with the default penalty the codes' cloud sits near N(0, I); without it, far."""
    distances = []
    for weight in (0.0, ModelConfig(family="wae").mmd_weight):
        torch.manual_seed(0)
        model = build_model(ModelConfig(family="wae", latent_dim=4, hidden_sizes=(64,),
                                        mmd_weight=weight))
        fit(model, digits, None, TrainConfig(epochs=8, batch_size=50, lr=2e-3, device="cpu"))
        with torch.inference_mode():
            codes = model.embed(digits.float_images())
            prior = model.sample_prior(len(codes), torch.Generator().manual_seed(1))
        distances.append(float(mmd(codes, prior)))
    assert distances[0] > 0.5 and distances[1] < 0.1, distances
