"""What a family declares on its class (ae_core.registry): its name, description and settings,
the flat config built and checked from them, and the capabilities pages read instead of
asking a model what it has."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import torch

from ae_core.checkpoint import list_checkpoints, load_checkpoint, read_metadata
from ae_core.config import ModelConfig
from ae_core.models import REGISTRY
from ae_core.models.mlp import MLPAutoencoder
from ae_core.models.posterior import DiagonalGaussian
from ae_core.registry import Setting, all_settings, register
from tests.conftest import family_config

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def registry(monkeypatch):
    """The registry, restored after the test (a test may register a family)."""
    monkeypatch.setattr("ae_core.registry.REGISTRY", dict(REGISTRY))
    from ae_core import registry as module

    return module.REGISTRY


def test_a_family_name_is_registered_once(registry):
    with pytest.raises(ValueError, match="'ae' is registered twice"):
        register("ae", "another")(type("Again", (MLPAutoencoder,), {}))


def test_a_setting_name_means_one_thing(registry):
    other_beta = Setting("beta", float, 2.0, "something else", bounds=(0.0, 1.0))
    with pytest.raises(ValueError, match="setting 'beta' is declared differently"):
        register("odd", "odd", settings=(other_beta,))(type("Odd", (MLPAutoencoder,), {}))


def test_a_registered_family_gets_its_config_checked(registry):
    width = Setting("width", int, 16, "a width", bounds=(1, 64))
    model_class = register("tiny", "tiny family", settings=(width,))(
        type("Tiny", (MLPAutoencoder,), {}))
    assert registry["tiny"] is model_class and model_class.family == "tiny"
    assert ModelConfig(family="tiny").width == 16
    assert ModelConfig(family="tiny", width=8.0).to_dict() == {
        "family": "tiny", "latent_dim": 32, "recon_loss": "bce", "width": 8}
    with pytest.raises(ValueError, match=r"width=65 must be in 1\.\.64"):
        ModelConfig(family="tiny", width=65)
    assert "width" in all_settings()


def test_settings_are_checked_by_their_declaration():
    with pytest.raises(ValueError, match="family conv_ae has no setting hidden_sizes; "
                                         "its settings: conv_channels"):
        ModelConfig(family="conv_ae", hidden_sizes=(32,))
    with pytest.raises(ValueError, match="beta=-1.0 must be in 0..100"):
        ModelConfig(family="vae", beta=-1)
    with pytest.raises(ValueError, match="conv_channels=.* must hold 1 to 2 entries"):
        ModelConfig(family="conv_ae", conv_channels=(4, 8, 16))
    with pytest.raises(ValueError, match="codebook_size=2.5 must be a whole number"):
        ModelConfig(family="vqvae", codebook_size=2.5)
    with pytest.raises(ValueError, match="prior='box' is not one of gaussian, mixture"):
        ModelConfig(family="aae", prior="box")
    with pytest.raises(AttributeError, match="family ae has no setting 'beta'"):
        _ = ModelConfig(family="ae").beta


def test_a_config_is_a_value():
    """Left-out settings take their defaults, so equal models compare (and hash) equal."""
    config = ModelConfig(family="vae", latent_dim=2)
    same = ModelConfig(family="vae", latent_dim=2, beta=1, hidden_sizes=[512, 256])
    assert config == same and hash(config) == hash(same) and {config: 1}[same] == 1
    assert config != ModelConfig(family="vae", latent_dim=2, beta=4.0)
    assert ModelConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config


def test_an_old_flat_config_loads_and_unknown_fields_do_not():
    """Before families declared their settings, a checkpoint stored every family's fields."""
    old = {"family": "ae", "latent_dim": 2, "hidden_sizes": [64], "conv_channels": [32, 64],
           "recon_loss": "bce", "beta": 1.0, "sparsity_weight": 0.001, "num_classes": 10,
           "codebook_size": 64, "commitment_weight": 0.25, "prior": "gaussian",
           "adversarial_weight": 1.0, "contractive_weight": 0.01}
    assert ModelConfig.from_dict(old) == ModelConfig(family="ae", latent_dim=2, hidden_sizes=(64,))
    with pytest.raises(ValueError, match="unknown ModelConfig field.*: dropout"):
        ModelConfig.from_dict({**old, "dropout": 0.5})


@pytest.mark.parametrize("path", list_checkpoints(ROOT / "checkpoints"), ids=lambda p: p.stem)
def test_every_shipped_checkpoint_loads_unchanged(path):
    """Its family's own fields keep their stored values; only other families' are dropped;
    a setting added to the family after the file was written takes its declared default."""
    stored = read_metadata(path)["model_config"]
    config = load_checkpoint(path).model_config
    kept = json.loads(json.dumps(config.to_dict()))
    assert {name: kept[name] for name in kept if name in stored} == \
        {name: stored[name] for name in kept if name in stored}
    declared = all_settings()
    assert {name: kept[name] for name in kept if name not in stored} == \
        {name: declared[name].default for name in kept if name not in stored}
    assert set(stored) - set(kept) <= set(declared)


@pytest.mark.parametrize("family", sorted(REGISTRY))
def test_variational_families_give_one_posterior(family, batch):
    """posterior(x, labels) is the same object for every variational family, conditional or
    not; it agrees with torch.distributions."""
    x, y = batch
    model = family_config(family, latent_dim=3, hidden_sizes=(32,), conv_channels=(4,),
                          codebook_size=8)
    net = REGISTRY[family](model).eval()
    if not net.is_variational:
        with pytest.raises(NotImplementedError, match="not variational"):
            net.posterior(x, y)
        return
    with torch.no_grad():
        posterior = net.posterior(x, y)
        assert isinstance(posterior, DiagonalGaussian)
        reference = torch.distributions.Normal(posterior.mean, posterior.std)
        prior = torch.distributions.Normal(torch.zeros(3), torch.ones(3))
        z = posterior.sample(4, torch.Generator().manual_seed(0))
        assert z.shape == (4, len(x), 3)
        torch.testing.assert_close(posterior.log_prob(z), reference.log_prob(z).sum(-1))
        torch.testing.assert_close(posterior.kl(),
                                   torch.distributions.kl_divergence(reference, prior).sum(-1))
        torch.testing.assert_close(posterior.mode(), net.embed(x, y))
        again = posterior.sample(4, torch.Generator().manual_seed(0))
        torch.testing.assert_close(z, again)


def test_code_asks_capabilities_not_names():
    """Pages and the library read a family's capability properties, never hasattr(model, ...)
    or its name."""
    pattern = re.compile(r"hasattr\(|\.family\s*(==|!=|in\s*\()")
    offending = [f"{path.relative_to(ROOT)}:{number}"
                 for folder in ("ae_core", "ui", "app_pages")
                 for path in sorted((ROOT / folder).rglob("*.py"))
                 for number, line in enumerate(path.read_text().splitlines(), 1)
                 if pattern.search(line)]
    assert offending == []
