"""Every registered model family, on real digits: shapes, named loss terms, gradients, the
save/load round trip. Parametrized over REGISTRY, so a new family is tested for free."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from ae_core.checkpoint import load_checkpoint, save_checkpoint
from ae_core.config import ModelConfig, TrainConfig
from ae_core.models import REGISTRY, Autoencoder, build_model
from ae_core.models.base import reconstruction_loss
from ae_core.models.vae import LOG_VAR_LIMIT
from tests.conftest import family_config

FAMILIES = sorted(REGISTRY)
VARIATIONAL = [family for family in FAMILIES if REGISTRY[family].is_variational]


def small_config(family: str, **overrides) -> ModelConfig:
    """Tiny sizes: every family builds and runs a batch in milliseconds."""
    values = dict(latent_dim=3, hidden_sizes=(32,), conv_channels=(4, 8), codebook_size=8)
    return family_config(family, **{**values, **overrides})


def small_model(family: str, seed: int = 0, **overrides) -> Autoencoder:
    torch.manual_seed(seed)
    return build_model(small_config(family, **overrides))


def test_every_family_is_described():
    assert FAMILIES and all(REGISTRY[family].description for family in FAMILIES)
    assert all(REGISTRY[family].family == family for family in FAMILIES)
    assert {"ae", "conv_ae", "sparse_ae", "vae", "conv_vae"} <= set(REGISTRY)


def test_unknown_family_lists_the_valid_ones():
    with pytest.raises(ValueError, match="unknown model family 'nope'") as error:
        build_model(ModelConfig(family="nope"))
    for family in REGISTRY:
        assert family in str(error.value)


@pytest.mark.parametrize("family", FAMILIES)
def test_shapes(family, batch):
    x, y = batch
    model = small_model(family).eval()
    with torch.inference_mode():
        code = model.embed(x, y)
        images = model.decode(code, y)
        out = model(x, y)
        sampled = model.encode(x, y)
    size = model.latent_dim  # positions x dimension for a VQ-VAE
    assert code.shape == (len(x), size) and torch.isfinite(code).all()
    assert sampled.shape == (len(x), size)
    assert images.shape == (len(x), 1, 28, 28)
    assert 0 <= float(images.min()) and float(images.max()) <= 1
    assert out.logits.shape == (len(x), 1, 28, 28) and out.code.shape == (len(x), size)
    torch.testing.assert_close(out.recon, torch.sigmoid(out.logits))
    with torch.inference_mode():
        torch.testing.assert_close(model.reconstruct(x, y), images)
        torch.testing.assert_close(model.embed(x, y), code)  # embed is deterministic
        one = model.decode(code[:1], y[:1])
    assert one.shape == (1, 1, 28, 28)


@pytest.mark.parametrize("family", FAMILIES)
def test_one_conv_layer_and_no_hidden_layer(family, batch):
    """The smallest sizes a config allows still build a working model."""
    x, y = batch
    model = small_model(family, hidden_sizes=(), conv_channels=(4,))
    with torch.inference_mode():
        images = model.decode(model.embed(x, y), y)
    assert images.shape == x.shape


@pytest.mark.parametrize("family", FAMILIES)
def test_loss_terms_are_finite_and_named(family, batch):
    x, y = batch
    model = small_model(family)
    terms = model.loss(x, model(x, y))
    assert {"loss", "recon_loss"} <= set(terms)
    if model.is_variational:
        assert {"kl_loss", "neg_elbo"} <= set(terms)
        torch.testing.assert_close(terms["neg_elbo"], terms["recon_loss"] + terms["kl_loss"])
    for name, value in terms.items():
        assert value.dim() == 0 and torch.isfinite(value), f"{family} {name}={value}"
    assert terms["loss"].requires_grad
    # Per image, summed over 784 pixels: an untrained model is far above 1 nat per image.
    assert float(terms["recon_loss"].detach()) > 50


@pytest.mark.parametrize("recon", ["bce", "mse"])
@pytest.mark.parametrize("family", [f for f in FAMILIES if not REGISTRY[f].is_linear])
def test_reconstruction_loss_is_per_image_summed_over_pixels(family, recon, batch):
    x, y = batch
    model = small_model(family, recon_loss=recon)
    out = model(x, y)
    if recon == "bce":
        per_image = F.binary_cross_entropy_with_logits(out.logits, x, reduction="none")
    else:
        per_image = (torch.sigmoid(out.logits) - x) ** 2
    expected = per_image.sum(dim=(1, 2, 3)).mean()
    torch.testing.assert_close(model.loss(x, out)["recon_loss"], expected)


def test_reconstruction_loss_does_not_depend_on_batch_size(batch):
    x, _ = batch
    logits = torch.randn(x.shape, generator=torch.Generator().manual_seed(0))
    for kind in ("bce", "mse"):
        one = torch.stack([reconstruction_loss(x[i:i + 1], logits[i:i + 1], kind)
                           for i in range(len(x))])
        torch.testing.assert_close(reconstruction_loss(x, logits, kind), one.mean())
        doubled = reconstruction_loss(torch.cat([x, x]), torch.cat([logits, logits]), kind)
        torch.testing.assert_close(doubled, one.mean())


@pytest.mark.parametrize("family", FAMILIES)
def test_gradients_reach_every_parameter(family, batch):
    """The loss reaches every parameter; an adversary's reach it through adversary_loss."""
    x, y = batch
    model = small_model(family)
    adversary = {id(p) for p in model.adversary_parameters()}
    model.loss(x, model(x, y))["loss"].backward()
    if adversary:
        adversary_loss = model.adversary_loss(x, model(x, y))
        assert adversary_loss.dim() == 0 and torch.isfinite(adversary_loss)
        adversary_loss.backward()
    for name, parameter in model.named_parameters():
        grad = parameter.grad
        assert grad is not None, f"{family}: no gradient reaches {name}"
        assert torch.isfinite(grad).all(), f"{family}: {name} has a non-finite gradient"
        assert grad.abs().sum() > 0, f"{family}: {name}'s gradient is all zeros"


@pytest.mark.parametrize("family", FAMILIES)
def test_save_load_round_trip(family, batch, tmp_path: Path):
    x, y = batch
    model = small_model(family)
    with torch.no_grad():  # weights no fresh build could have, so a no-op load cannot pass
        generator = torch.Generator().manual_seed(1)
        for parameter in model.parameters():
            parameter.add_(0.01 * torch.randn(parameter.shape, generator=generator))
    model.after_epoch(x)  # families with fitted state (a VQ-VAE's code prior) update it
    path = save_checkpoint(tmp_path / f"{family}.safetensors", model, TrainConfig(epochs=1),
                           metrics={"loss": 1.5})
    checkpoint = load_checkpoint(path)
    loaded = checkpoint.model
    assert type(loaded) is type(model) and checkpoint.model_config == model.config
    assert checkpoint.train_config == TrainConfig(epochs=1) and checkpoint.metrics == {"loss": 1.5}
    assert not loaded.training  # ready to use
    expected_state, loaded_state = model.state_dict(), loaded.state_dict()
    assert set(expected_state) == set(loaded_state)
    for name, value in expected_state.items():
        torch.testing.assert_close(loaded_state[name], value, rtol=0, atol=0)
    model.eval()
    with torch.inference_mode():
        torch.testing.assert_close(loaded.decode(loaded.embed(x, y), y),
                                   model.decode(model.embed(x, y), y))


@pytest.mark.parametrize("family", VARIATIONAL)
def test_log_variance_is_clamped(family, batch):
    """Extreme inputs and weights keep exp(log_var) and the KL finite."""
    x, y = batch
    model = small_model(family)
    with torch.no_grad():
        model.to_log_var.bias.fill_(1e4)
    out = model(x * 1000, y)
    assert out.posterior.log_var.max() <= LOG_VAR_LIMIT
    terms = model.loss(x, out)
    assert all(torch.isfinite(value) for value in terms.values()), terms
    with torch.no_grad():
        model.to_log_var.bias.fill_(-1e4)
    out = model(x, y)
    assert out.posterior.log_var.min() >= -LOG_VAR_LIMIT
    assert all(torch.isfinite(value) for value in model.loss(x, out).values())


@pytest.mark.parametrize("family", VARIATIONAL)
def test_kl_weight_scales_only_the_kl(family, batch):
    x, y = batch
    model = small_model(family, beta=2.0)
    torch.manual_seed(0)
    out = model(x, y)
    full, none = model.loss(x, out, kl_weight=1.0), model.loss(x, out, kl_weight=0.0)
    torch.testing.assert_close(none["loss"], none["recon_loss"])
    torch.testing.assert_close(full["loss"], full["recon_loss"] + 2.0 * full["kl_loss"])
    torch.testing.assert_close(full["neg_elbo"], none["neg_elbo"])  # beta 1, no warm-up


@pytest.mark.parametrize("family", FAMILIES)
def test_prior_samples_decode(family):
    model = small_model(family)
    if not model.has_prior:
        with pytest.raises(NotImplementedError):
            model.sample_prior(2)
        return
    codes = model.sample_prior(5, torch.Generator().manual_seed(0))
    again = model.sample_prior(5, torch.Generator().manual_seed(0))
    assert codes.shape == (5, model.latent_dim) and torch.isfinite(codes).all()
    torch.testing.assert_close(codes, again)
    labels = torch.arange(5) if model.is_conditional else None
    with torch.inference_mode():
        assert model.decode(codes, labels).shape == (5, 1, 28, 28)
