"""The model zoo: conditional VAE, VQ-VAE, contractive, adversarial and LSTM autoencoders,
the overcomplete check and the per-dimension KL of the VAEs, on real MNIST digits."""

from __future__ import annotations

import pytest
import torch

from ae_core.checkpoint import load_checkpoint, save_checkpoint
from ae_core.config import INPUT_SIZE, PRESETS, ModelConfig, TrainConfig, check_overcomplete
from ae_core.data import Dataset, load_embedded
from ae_core.models import REGISTRY, build_model
from ae_core.models.vae import (
    UNUSED_KL_THRESHOLD,
    gaussian_kl,
    per_dimension_kl,
    unused_dimensions,
)
from ae_core.train import evaluate_terms, fit, train_model
from tests.conftest import family_config

# Small sizes so each family trains in a few seconds on 2 CPU cores.
ZOO = {
    "cvae": ModelConfig(family="cvae", latent_dim=8, hidden_sizes=(128,)),
    # No learned prior: these tests sample its per-position frequencies (the learned prior a
    # training run fits is tested in tests/test_vq_prior.py).
    "vqvae": ModelConfig(family="vqvae", latent_dim=8, conv_channels=(16, 32), codebook_size=32,
                         code_prior_epochs=0),
    "contractive_ae": ModelConfig(family="contractive_ae", latent_dim=8, hidden_sizes=(128,)),
    "aae": ModelConfig(family="aae", latent_dim=8, hidden_sizes=(128,), prior="mixture"),
    "lstm_ae": ModelConfig(family="lstm_ae", latent_dim=8),
}
TRAIN = TrainConfig(epochs=8, batch_size=64, lr=2e-3, device="cpu", seed=0)


@pytest.fixture(scope="module")
def zoo_digits() -> tuple[Dataset, Dataset]:
    """1000 training and 200 validation digits, a fixed random draw from the embedded set."""
    data = load_embedded()
    order = torch.randperm(len(data), generator=torch.Generator().manual_seed(0))
    return data.subset(order[:1000], "zoo/train"), data.subset(order[1000:1200], "zoo/val")


@pytest.fixture(scope="module")
def zoo_batch(zoo_digits) -> tuple[torch.Tensor, torch.Tensor]:
    """(16, 1, 28, 28) validation images and their (16,) labels."""
    val = zoo_digits[1]
    return val.float_images()[:16], val.labels[:16]


@pytest.fixture(scope="module")
def trained(zoo_digits):
    """family -> (model, validation loss at initialisation, TrainResult), trained once."""
    cache: dict[str, tuple] = {}

    def train(family: str):
        if family not in cache:
            train_data, val_data = zoo_digits
            torch.manual_seed(0)
            model = build_model(ZOO[family])
            initial = evaluate_terms(model, val_data.float_images(), val_data.labels)["loss"]
            cache[family] = (model, initial, fit(model, train_data, val_data, TRAIN))
        return cache[family]

    return train


def test_zoo_is_registered():
    for family in ZOO:
        assert family in REGISTRY and REGISTRY[family].description


@pytest.mark.parametrize("family", list(ZOO))
def test_family_learns(family, trained):
    model, initial, result = trained(family)
    assert not result.diverged and result.epochs_completed == TRAIN.epochs
    final = result.history[-1].val["loss"]
    assert final < 0.75 * initial, f"{family}: {initial:.1f} -> {final:.1f}"


@pytest.mark.parametrize("family", list(ZOO))
def test_checkpoint_round_trip(family, trained, zoo_batch, tmp_path):
    model, _, _ = trained(family)
    x, y = zoo_batch
    path = save_checkpoint(tmp_path / f"{family}.safetensors", model, TRAIN)
    loaded = load_checkpoint(path).model
    with torch.inference_mode():
        expected = model.decode(model.embed(x, y), y)
        torch.testing.assert_close(loaded.decode(loaded.embed(x, y), y), expected)
    for name, buffer in model.named_buffers():
        torch.testing.assert_close(dict(loaded.named_buffers())[name], buffer)


# Conditional VAE


def test_cvae_label_changes_the_digit(trained, zoo_digits, zoo_batch):
    model, _, _ = trained("cvae")
    x, y = zoo_batch
    assert model.is_conditional and model.is_variational
    train_data = zoo_digits[0]
    images = train_data.float_images()
    mean_zero = images[train_data.labels == 0].mean(0)
    mean_one = images[train_data.labels == 1].mean(0)
    with torch.inference_mode():
        code = model.embed(x, y)
        as_zero = model.decode(code, torch.zeros_like(y))
        as_one = model.decode(code, torch.ones_like(y))
        one_label_for_all = model.decode(code, torch.tensor(1))
    # The same codes drawn as a 0 look like a 0, drawn as a 1 look like a 1.
    assert ((as_zero - mean_zero) ** 2).sum() < ((as_zero - mean_one) ** 2).sum()
    assert ((as_one - mean_one) ** 2).sum() < ((as_one - mean_zero) ** 2).sum()
    assert (as_zero - as_one).abs().flatten(1).sum(1).min() > 10  # pixels, every image
    torch.testing.assert_close(one_label_for_all, as_one)


def test_cvae_needs_labels(zoo_batch):
    model = build_model(ZOO["cvae"])
    x, _ = zoo_batch
    for call in (lambda: model(x), lambda: model.embed(x), lambda: model.encode(x),
                 lambda: model.decode(torch.zeros(len(x), 8))):
        with pytest.raises(ValueError, match="labels"):
            call()
    with pytest.raises(ValueError, match="0..9"):
        model.embed(x, torch.full((len(x),), 10))


# VQ-VAE


def test_vqvae_indices(trained, zoo_batch):
    model, _, _ = trained("vqvae")
    x, y = zoo_batch
    with torch.inference_mode():
        indices = model.code_indices(x)
        assert indices.shape == (len(x), 49) and indices.dtype == torch.int64
        assert 0 <= indices.min() and indices.max() < ZOO["vqvae"].codebook_size
        assert model.embed(x).shape == (len(x), 49 * 8) == (len(x), model.latent_dim)
        torch.testing.assert_close(model.decode_indices(indices), model.decode(model.embed(x)))
        # The straight-through code has the quantised values.
        torch.testing.assert_close(model.encode(x), model.embed(x))


def test_vqvae_reports_usage_and_fits_prior(trained):
    model, _, result = trained("vqvae")
    extras = result.history[-1].extras
    assert 0 < extras["codes_used"] <= ZOO["vqvae"].codebook_size
    frequencies = model.code_frequencies
    assert frequencies.shape == (49, ZOO["vqvae"].codebook_size)
    torch.testing.assert_close(frequencies.sum(1), torch.ones(49))
    samples = model.sample_prior(5, torch.Generator().manual_seed(0))
    assert samples.shape == (5, model.latent_dim)
    # Every sampled vector is a codebook entry used at that position in training.
    with torch.inference_mode():
        indices = model.nearest_entries(samples.view(5, 49, 8))
    assert (frequencies.gather(1, indices.T) > 0).all()


def test_vqvae_reseeds_dead_codes(zoo_digits):
    torch.manual_seed(0)
    model = build_model(ZOO["vqvae"])
    images = zoo_digits[0].float_images()[:200]
    with torch.no_grad():  # push 20 entries far from every encoder output: they are dead
        model.codebook.weight[12:] = 100.0
    report = model.after_epoch(images)
    assert report["codes_reseeded"] >= 20
    assert report["codes_used"] == ZOO["vqvae"].codebook_size - report["codes_reseeded"]
    assert model.codebook.weight.abs().max() < 100.0  # each now sits on an encoder output
    assert model.after_epoch(images)["codes_used"] > report["codes_used"]


# Contractive autoencoder


@pytest.mark.parametrize("hidden_sizes", [(32, 16), ()])  # (): one linear layer, the weight
def test_contractive_penalty_is_the_exact_jacobian(zoo_batch, hidden_sizes):
    torch.manual_seed(0)
    model = build_model(ModelConfig(family="contractive_ae", latent_dim=5,
                                    hidden_sizes=hidden_sizes))
    x = zoo_batch[0][:3]
    expected = torch.stack([
        torch.autograd.functional.jacobian(
            lambda pixels: model.encode(pixels.view(1, 1, 28, 28)).squeeze(0), image.flatten()
        ).pow(2).sum()
        for image in x
    ])
    torch.testing.assert_close(model.jacobian_norm(x), expected)
    terms = model.loss(x, model(x))
    torch.testing.assert_close(terms["contractive_loss"], expected.mean())
    torch.testing.assert_close(terms["loss"], terms["recon_loss"] + 1e-2 * expected.mean())


# Adversarial autoencoder


@pytest.mark.parametrize("prior", ["gaussian", "mixture", "uniform"])
def test_aae_prior_and_adversary(prior, zoo_batch):
    torch.manual_seed(0)
    model = build_model(ModelConfig(family="aae", latent_dim=6, hidden_sizes=(64,), prior=prior))
    x, _ = zoo_batch
    samples = model.sample_prior(500, torch.Generator().manual_seed(0))
    assert samples.shape == (500, 6) and torch.isfinite(samples).all()
    if prior == "uniform":
        assert samples.abs().max() <= 1.0

    adversary = model.adversary_parameters()
    assert adversary and {id(p) for p in adversary} == {
        id(p) for p in model.discriminator.parameters()}
    # The generator term reaches the encoder but never writes into the discriminator's grads.
    model.loss(x, model(x))["adversarial_loss"].backward()
    assert all(p.grad is None for p in adversary)
    assert model.encoder[0].weight.grad.abs().sum() > 0
    # The discriminator's own loss trains only the discriminator.
    model.zero_grad(set_to_none=True)
    model.adversary_loss(x, model(x)).backward()
    assert all(p.grad is not None for p in adversary)
    assert all(p.grad is None for p in model.encoder.parameters())


def test_aae_codes_move_towards_the_prior(trained, zoo_digits):
    model, _, result = trained("aae")
    assert "adversary_loss" in result.history[-1].train
    with torch.inference_mode():
        codes = model.embed(zoo_digits[1].float_images())
    # Mixture means lie on a circle of radius 4: codes should spread out to that scale.
    assert codes[:, :2].norm(dim=1).mean() > 1.0


# LSTM autoencoder


def test_lstm_shapes(zoo_batch):
    model = build_model(ZOO["lstm_ae"])
    x, _ = zoo_batch
    out = model(x)
    assert out.code.shape == (len(x), 8)
    assert out.logits.shape == x.shape
    assert model.decode(torch.zeros(3, 8)).shape == (3, 1, 28, 28)


# Overcomplete codes


def test_overcomplete_needs_a_regulariser(zoo_digits):
    plain = ModelConfig(family="ae", latent_dim=INPUT_SIZE + 1, hidden_sizes=(64,))
    with pytest.raises(ValueError, match="identity map"):
        check_overcomplete(plain, TrainConfig())
    with pytest.raises(ValueError, match="identity map"):
        fit(build_model(plain), zoo_digits[0], None, TrainConfig(epochs=1, device="cpu"))
    with pytest.raises(ValueError, match="identity map"):
        train_model(plain, TrainConfig(epochs=1, device="cpu"))
    check_overcomplete(ModelConfig(family="ae", latent_dim=INPUT_SIZE), TrainConfig())
    check_overcomplete(plain, TrainConfig(noise_kind="gaussian", noise_level=0.3))
    check_overcomplete(ModelConfig(family="contractive_ae", latent_dim=1024), TrainConfig())


def test_overcomplete_preset_trains(zoo_digits):
    preset = PRESETS["overcomplete"]
    config = ModelConfig(family=preset.family, **preset.model_overrides)
    assert config.family == "sparse_ae" and config.latent_dim == 1024
    train_data = zoo_digits[0].subset(torch.arange(200))
    result = fit(build_model(config), train_data, None, TrainConfig(epochs=1, device="cpu"))
    assert result.epochs_completed == 1


# Per-dimension KL of the VAEs


@pytest.mark.parametrize("family", ["vae", "conv_vae", "cvae"])
def test_per_dimension_kl(family, zoo_batch):
    torch.manual_seed(0)
    model = build_model(family_config(family, latent_dim=4, hidden_sizes=(32,),
                                      conv_channels=(8,)))
    x, y = zoo_batch
    with torch.no_grad():  # collapse dimension 2: its posterior is exactly the prior
        for layer in (model.to_mean, model.to_log_var):
            layer.weight[2] = 0.0
            layer.bias[2] = 0.0
    kl = per_dimension_kl(model, x, y)
    out = model(x, y)
    posterior = out.posterior
    torch.testing.assert_close(kl, gaussian_kl(posterior.mean, posterior.log_var).mean(dim=0))
    assert kl.shape == (4,) and (kl >= 0).all()
    assert kl[2] < UNUSED_KL_THRESHOLD and 2 in unused_dimensions(kl)
    assert unused_dimensions(torch.tensor([0.5, 0.001, 0.02])) == [1]


def test_per_dimension_kl_refuses_other_families(zoo_batch):
    with pytest.raises(ValueError, match="posterior"):
        per_dimension_kl(build_model(ZOO["lstm_ae"]), zoo_batch[0])
    with pytest.raises(ValueError, match="labels"):
        per_dimension_kl(build_model(ZOO["cvae"]), zoo_batch[0])
