"""Free bits (Kingma et al. 2016) and the collapse table (issue 14.5)."""

from __future__ import annotations

import torch

from ae_core.collapse import CollapseRow, collapse_markdown, compare_remedies
from ae_core.config import ModelConfig
from ae_core.models import build_model
from ae_core.models.base import ForwardOutput
from ae_core.models.posterior import DiagonalGaussian


def kl_gradient(free_bits: float) -> torch.Tensor:
    """The loss's gradient with respect to a posterior mean that sits near the prior."""
    model = build_model(ModelConfig(family="vae", latent_dim=4, hidden_sizes=(8,),
                                    free_bits=free_bits))
    x = torch.rand(2, 1, 28, 28)
    mean = torch.full((2, 4), 0.1, requires_grad=True)  # KL 0.005 nats per dimension
    out = ForwardOutput(logits=torch.zeros(2, 1, 28, 28), code=mean,
                        posterior=DiagonalGaussian(mean, torch.zeros(2, 4)))
    model.loss(x, out)["loss"].backward()
    return mean.grad


def test_free_bits_stop_the_pull_towards_the_prior_below_the_floor():
    assert kl_gradient(0.0).abs().sum() > 0  # the plain ELBO pulls the mean to 0
    assert kl_gradient(0.5).abs().sum() == 0  # under the floor: nothing to gain


def test_the_reported_kl_is_the_real_one_whatever_the_floor():
    model = build_model(ModelConfig(family="vae", latent_dim=4, hidden_sizes=(8,),
                                    free_bits=2.0))
    x = torch.rand(3, 1, 28, 28)
    out = model(x)
    terms = model.loss(x, out)
    torch.testing.assert_close(terms["kl_loss"], out.posterior.kl().mean())
    assert terms["loss"] >= terms["recon_loss"] + 4 * 2.0 - 1e-4  # every dimension at the floor


def test_the_table_trains_every_variant_and_counts_dimensions(embedded):
    rows = compare_remedies(embedded.subset(torch.arange(300)), latent_dim=4, epochs=1,
                            hidden_sizes=(16,))
    assert [row.variant for row in rows][:2] == ["plain VAE (no warm-up)",
                                                 "KL warm-up (5 epochs)"]
    assert all(0 <= row.informative_dimensions <= row.active_dimensions <= 4 for row in rows)
    text = collapse_markdown([CollapseRow("x", 3, 2, 4, 120.0, 9.0)], "a test")
    assert "| x | 3 of 4 | 2 of 4 | 120.0 | 9.0 |" in text
