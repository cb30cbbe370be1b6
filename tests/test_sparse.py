"""The sparse family: its default actually makes most units inactive, the KL form pushes each
unit's mean activation towards rho, the measures, and the sliders page's sparsity panel."""

from __future__ import annotations

import pytest
import torch

from ae_core.checkpoint import save_checkpoint
from ae_core.config import ModelConfig, TrainConfig
from ae_core.latent import encode_dataset
from ae_core.models import build_model
from ae_core.sparsity import fraction_inactive, inactive_mask, units_by_class
from ae_core.train import fit
from tests.pages import open_page


def _trained(embedded, **settings):
    torch.manual_seed(0)
    family = settings.pop("family", "sparse_ae")
    config = ModelConfig(family=family, latent_dim=32, hidden_sizes=(128,), **settings)
    return fit(build_model(config), embedded, None,
               TrainConfig(epochs=3, val_fraction=0.0, device="cpu")).model.eval()


def _inactive(model, dataset) -> float:
    images = dataset.float_images()[:1000]
    return float(fraction_inactive(encode_dataset(model, images, dataset.labels[:1000]).codes)
                 .mean())


@pytest.fixture(scope="module")
def plain_and_sparse(embedded):
    return _trained(embedded, family="ae"), _trained(embedded)


def test_the_default_sparse_model_leaves_most_units_inactive(plain_and_sparse, embedded):
    """The old default (L1 weight 1e-3) left the code as dense as a plain AE's."""
    plain, sparse = plain_and_sparse
    assert sparse.config.sparsity_kind == "l1" and sparse.config.sparsity_weight >= 0.3
    assert _inactive(plain, embedded) < 0.1
    assert _inactive(sparse, embedded) > 0.68


def test_the_old_l1_weight_is_not_sparse(embedded):
    """Same ReLU code, the old 1e-3 weight: far fewer units stay off than with the default."""
    old = _trained(embedded, sparsity_weight=1e-3)
    assert _inactive(old, embedded) < 0.6


def test_the_kl_form_pushes_mean_activations_towards_rho(embedded):
    weak = _trained(embedded, sparsity_kind="kl", sparsity_weight=0.0)
    strong = _trained(embedded, sparsity_kind="kl", sparsity_weight=5.0, sparsity_target=0.05)
    images = embedded.float_images()[:1000]
    with torch.inference_mode():
        weak_rates, strong_rates = weak.embed(images).mean(0), strong.embed(images).mean(0)
    assert ((0 < strong_rates) & (strong_rates < 1)).all()  # a sigmoid code
    assert (strong_rates - 0.05).abs().mean() < 0.25 * (weak_rates - 0.05).abs().mean()
    assert float(strong_rates.mean()) < 0.25


def test_the_measures_on_a_hand_made_code():
    codes = torch.tensor([[1.0, 0.0, 0.005, 0.0],
                          [0.5, 2.0, 0.0, 0.0],
                          [0.0, 1.0, 1.0, 0.0]])
    # Unit maxima 1, 2, 1, 0: below 1 % of the max, or a unit that never fires, is inactive.
    assert inactive_mask(codes).tolist() == [[False, True, True, True],
                                             [False, False, True, True],
                                             [True, False, False, True]]
    assert fraction_inactive(codes).tolist() == [0.75, 0.5, 0.5]
    means = units_by_class(codes, torch.tensor([0, 0, 2]), classes=3)
    torch.testing.assert_close(means, torch.tensor([[0.75, 1.0, 0.0025, 0.0], [0.0] * 4,
                                                   [0.0, 1.0, 1.0, 0.0]]))


def test_an_old_sparse_setting_still_loads():
    """A config written before sparsity_kind existed takes the L1 form."""
    config = ModelConfig.from_dict({"family": "sparse_ae", "latent_dim": 8,
                                    "sparsity_weight": 0.001})
    assert config.sparsity_kind == "l1" and config.sparsity_weight == 0.001


@pytest.mark.parametrize("family", ["sparse_ae", "ae"])
def test_the_sliders_page_shows_the_sparsity_panel_only_for_a_sparse_model(
        family, monkeypatch, tmp_path, digits):
    torch.manual_seed(0)
    config = ModelConfig(family=family, latent_dim=8, hidden_sizes=(32,))
    model = fit(build_model(config), digits, None, TrainConfig(epochs=1, batch_size=50)).model
    save_checkpoint(tmp_path / f"{family}.safetensors", model)
    at = open_page("app_pages/sliders.py", tmp_path, monkeypatch, family)
    assert not at.error, [e.value for e in at.error]
    headers = [header.value for header in at.subheader]
    keys = {chart.proto.id for chart in at.get("plotly_chart")}
    shown = "How sparse is the code?" in headers
    assert shown == (family == "sparse_ae")
    if shown:
        assert any("units are inactive" in md.value for md in at.markdown)
        assert len(keys) >= 3
