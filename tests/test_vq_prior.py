"""The VQ-VAE's learned code prior: causal, reproducible, better than independent positions on
structured grids, stored in the checkpoint and validated strictly on load."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file
from safetensors.torch import save_file as save_raw

from ae_core.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from ae_core.config import TrainConfig
from ae_core.models import REGISTRY, build_model
from ae_core.models.base import AfterTrainingReport
from ae_core.sampling import PRIOR, draw_codes, sample_digits
from ae_core.train import Callback, fit
from ae_core.vq_prior import (
    METADATA_KEY,
    PREFIX,
    CodePrior,
    CodePriorConfig,
    bits_per_position,
    code_grids,
    entry_frequencies,
    fit_code_prior,
    independent_bits_per_position,
    sample_code_grid,
)
from tests.conftest import family_config

SMALL = {"width": 16, "layers": 1, "heads": 2, "dropout": 0.0}


def tiny_prior(codebook_size: int = 8, grid_size: int = 7, seed: int = 0) -> CodePrior:
    torch.manual_seed(seed)
    return CodePrior(CodePriorConfig(codebook_size, grid_size, **SMALL)).eval()


def tiny_vqvae(with_prior: bool = True):
    torch.manual_seed(0)
    # No prior fitted by training (code_prior_epochs=0): these tests attach theirs by hand.
    model = REGISTRY["vqvae"](family_config("vqvae", latent_dim=4, conv_channels=(4, 8),
                                            codebook_size=8, code_prior_epochs=0)).eval()
    if with_prior:
        model.attach_code_prior(tiny_prior(8, model.grid_size))
    return model


def copying_grids(count: int, codebook_size: int, positions: int, seed: int) -> torch.Tensor:
    """(count, positions) grids whose entries repeat the first one, with a little noise: an
    autoregressive prior can predict almost every position, independent positions cannot."""
    generator = torch.Generator().manual_seed(seed)
    first = torch.randint(codebook_size, (count, 1), generator=generator)
    grids = first.expand(count, positions).clone()
    noise = torch.rand(count, positions, generator=generator) < 0.05
    grids[noise] = torch.randint(codebook_size, (int(noise.sum()),), generator=generator)
    return grids


def test_each_position_reads_only_the_positions_before_it():
    prior = tiny_prior()
    codes = torch.randint(8, (3, 49), generator=torch.Generator().manual_seed(1))
    logits = prior(codes)
    for position in (0, 20, 48):
        changed = codes.clone()
        changed[:, position] = (changed[:, position] + 1) % 8
        after = prior(changed)
        # Outputs up to and including `position` never see its entry; later ones do.
        torch.testing.assert_close(after[:, :position + 1], logits[:, :position + 1])
        if position < 48:
            assert not torch.allclose(after[:, position + 1:], logits[:, position + 1:])


def test_sampling_shapes_seed_and_temperature():
    prior = tiny_prior()
    first = sample_code_grid(prior, 5, torch.Generator().manual_seed(3), 1.0)
    again = sample_code_grid(prior, 5, torch.Generator().manual_seed(3), 1.0)
    other = sample_code_grid(prior, 5, torch.Generator().manual_seed(4), 1.0)
    assert first.shape == (5, 49) and first.dtype == torch.long
    assert 0 <= int(first.min()) and int(first.max()) < 8
    assert torch.equal(first, again) and not torch.equal(first, other)
    greedy = sample_code_grid(prior, 4, torch.Generator().manual_seed(5), 0.0)
    assert (greedy == greedy[0]).all()  # temperature 0: the likeliest entry at every step


def test_a_fitted_prior_beats_independent_positions_on_structured_grids():
    train = copying_grids(400, 8, 16, seed=0)
    test = copying_grids(200, 8, 16, seed=1)
    prior = fit_code_prior(train, CodePriorConfig(8, 4, **SMALL), epochs=15, batch_size=50,
                           lr=1e-2)
    independent = independent_bits_per_position(entry_frequencies(train, 8), test)
    learned = bits_per_position(prior, test)
    assert independent > 2.5  # about log2(8) = 3: every position is any entry
    assert learned < 0.6 * independent


def test_fit_is_reproducible_with_a_seed():
    train = copying_grids(100, 8, 16, seed=0)
    config = CodePriorConfig(8, 4, **SMALL)
    first, again = (fit_code_prior(train, config, epochs=1, seed=2) for _ in range(2))
    for name, value in first.state_dict().items():
        torch.testing.assert_close(again.state_dict()[name], value)


def test_the_model_samples_from_its_learned_prior_and_says_so():
    model = tiny_vqvae()
    codes, source = draw_codes(model, 6, temperature=0.7, seed=9)
    indices = sample_code_grid(model.code_prior, 6, torch.Generator().manual_seed(9), 0.7)
    torch.testing.assert_close(codes, model.codebook.weight.detach()[indices].flatten(1))
    assert source == PRIOR
    assert "learned" in sample_digits(model, 2, seed=1).note
    assert "no learned prior" in sample_digits(tiny_vqvae(with_prior=False), 2, seed=1).note


def test_a_prior_of_other_sizes_is_refused():
    model = tiny_vqvae(with_prior=False)
    with pytest.raises(ValueError, match="does not fit"):
        model.attach_code_prior(tiny_prior(codebook_size=16, grid_size=model.grid_size))


def test_training_drops_a_prior_fitted_to_the_old_codes(digits):
    from ae_core.config import TrainConfig
    from ae_core.train import fit

    model = tiny_vqvae()
    fit(model, digits, None, TrainConfig(epochs=1, batch_size=100, device="cpu"))
    assert model.code_prior is None


@pytest.mark.parametrize("storage_dtype", ["float32", "float16"])
def test_the_prior_travels_in_the_checkpoint(tmp_path, storage_dtype):
    model = tiny_vqvae()
    path = save_checkpoint(tmp_path / "vq.safetensors", model, storage_dtype=storage_dtype)
    stored = load_file(str(path))
    assert any(name.startswith(PREFIX) for name in stored)
    assert {value.dtype for value in stored.values()} == {torch.float16
                                                            if storage_dtype == "float16"
                                                            else torch.float32}
    loaded = load_checkpoint(path).model
    assert loaded.code_prior is not None and loaded.code_prior.config == model.code_prior.config
    tolerance = {"rtol": 1e-3, "atol": 1e-3} if storage_dtype == "float16" else {}
    for name, value in model.code_prior.state_dict().items():
        torch.testing.assert_close(loaded.code_prior.state_dict()[name], value, **tolerance)
    if storage_dtype == "float32":  # the same file draws the same digits
        torch.testing.assert_close(draw_codes(loaded, 4, seed=2)[0],
                                   draw_codes(model, 4, seed=2)[0])


def test_a_checkpoint_without_a_prior_still_loads_and_falls_back(tmp_path):
    path = save_checkpoint(tmp_path / "old.safetensors", tiny_vqvae(with_prior=False))
    model = load_checkpoint(path).model
    assert model.code_prior is None
    assert "independent positions" in sample_digits(model, 2).note


def _rewrite(path, tensors=None, metadata=None):
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as reader:
        old_metadata = reader.metadata()
    save_raw(tensors if tensors is not None else load_file(str(path)), str(path),
             metadata=metadata if metadata is not None else old_metadata)
    return old_metadata


def test_a_prior_that_does_not_match_its_config_is_refused(tmp_path):
    path = save_checkpoint(tmp_path / "vq.safetensors", tiny_vqvae())
    metadata = _rewrite(path)
    config = json.loads(metadata[METADATA_KEY])
    cases = {
        "metadata has no": (None, {k: v for k, v in metadata.items() if k != METADATA_KEY}),
        "code prior weights do not match": (None, {**metadata, METADATA_KEY: json.dumps(
            {**config, "layers": 2})}),
        "has shape": (None, {**metadata, METADATA_KEY: json.dumps({**config, "width": 32,
                                                                      "heads": 2})}),
        "invalid code prior config": (None, {**metadata, METADATA_KEY: json.dumps(
            {**config, "width": 10**6})}),
    }
    tensors = load_file(str(path))
    # A prior consistent with its own config, over a 3x3 grid: not this model's 7x7.
    other = tiny_prior(8, grid_size=3)
    other_tensors = {**{n: v for n, v in tensors.items() if not n.startswith(PREFIX)},
                     **{PREFIX + n: v for n, v in other.state_dict().items()}}
    cases["does not fit"] = (other_tensors, {**metadata, METADATA_KEY: json.dumps(
        other.config.to_dict())})
    for fragment, (changed_tensors, changed) in cases.items():
        _rewrite(path, changed_tensors if changed_tensors is not None else tensors, changed)
        with pytest.raises(CheckpointError, match=fragment):
            load_checkpoint(path)
    extra = dict(tensors)
    extra[PREFIX + "head.weight"] = torch.full_like(extra[PREFIX + "head.weight"], float("nan"))
    _rewrite(path, extra, metadata)
    with pytest.raises(CheckpointError, match="NaN"):
        load_checkpoint(path)


def test_a_prior_on_a_family_without_a_code_grid_is_refused(tmp_path):
    torch.manual_seed(0)
    path = save_checkpoint(tmp_path / "ae.safetensors",
                           REGISTRY["ae"](family_config("ae", latent_dim=4, hidden_sizes=(8,))))
    metadata = _rewrite(path)
    config = CodePriorConfig(8, 7, **SMALL)
    _rewrite(path, None, {**metadata, METADATA_KEY: json.dumps(config.to_dict())})
    with pytest.raises(CheckpointError, match="no code grid"):
        load_checkpoint(path)


@pytest.mark.slow
def test_the_script_adds_a_prior_without_touching_the_vqvae(tmp_path, monkeypatch):
    """scripts/fit_code_prior.py on a small VQ-VAE checkpoint: the prior and its figures are
    added, every other tensor stays byte for byte, a second run without --force skips."""
    import importlib.util
    from pathlib import Path

    from ae_core.config import TrainConfig

    script = Path(__file__).resolve().parent.parent / "scripts" / "fit_code_prior.py"
    spec = importlib.util.spec_from_file_location("fit_code_prior", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(module, "shared_test_set_available", lambda: False)  # the val split
    path = save_checkpoint(tmp_path / "vq.safetensors", tiny_vqvae(with_prior=False),
                           TrainConfig(epochs=1, device="cpu"), storage_dtype="float16")
    before = load_file(str(path))
    message = module.add_code_prior(path, epochs=1)
    assert "bits per position" in message
    after = load_file(str(path))
    for name, value in before.items():
        assert torch.equal(after[name], value), name
    assert {name for name in after if name.startswith(PREFIX)} and all(
        value.dtype == torch.float16 for value in after.values())
    checkpoint = load_checkpoint(path)
    assert checkpoint.model.code_prior is not None
    assert {"prior_bits_per_position", "independent_bits_per_position"} <= set(checkpoint.metrics)
    assert "skipped" in module.add_code_prior(path, epochs=1)


class AfterTrainingRecorder(Callback):
    def __init__(self) -> None:
        self.reports: list[AfterTrainingReport] = []

    def on_after_training_epoch(self, report: AfterTrainingReport) -> None:
        self.reports.append(report)


@pytest.mark.parametrize("prior_epochs", [1, 0])
def test_a_trained_vqvae_carries_the_code_prior_its_config_asks_for(prior_epochs, digits,
                                                                     tmp_path):
    """Training fits the learned prior to the training codes once the epochs are over (its
    epochs heard by the callbacks, its figures in the metrics), and the checkpoint keeps it;
    code_prior_epochs=0 fits none and samples stay independent."""
    model_config = family_config("vqvae", latent_dim=4, conv_channels=(4, 8), codebook_size=8,
                                 code_prior_epochs=prior_epochs)
    train, val = digits.subset(torch.arange(0, 200, 2)), digits.subset(torch.arange(1, 200, 2))
    recorder = AfterTrainingRecorder()
    train_config = TrainConfig(epochs=1, batch_size=50, device="cpu", seed=0)
    torch.manual_seed(0)
    result = fit(build_model(model_config), train, val, train_config, [recorder])
    path = save_checkpoint(tmp_path / "vq.safetensors", result.model, train_config,
                           result.final_metrics())
    loaded = load_checkpoint(path)
    assert loaded.model_config.code_prior_epochs == prior_epochs
    if prior_epochs == 0:
        assert recorder.reports == [] and result.after_training == {}
        assert loaded.model.code_prior is None and "prior_bits_per_position" not in loaded.metrics
        assert "no learned prior" in sample_digits(loaded.model, 2, seed=1).note
        return
    assert [(report.what, report.epoch, report.epochs) for report in recorder.reports] == [
        ("code prior", 0, 1), ("code prior", 1, 1)]
    assert "bits per position (train)" in recorder.reports[-1].figure
    assert loaded.model.code_prior is not None
    for name, value in result.model.code_prior.state_dict().items():
        torch.testing.assert_close(loaded.model.code_prior.state_dict()[name], value)
    # Measured on the validation digits' grids, against independent positions.
    codes = code_grids(result.model, val.float_images())
    assert loaded.metrics["prior_bits_per_position"] == pytest.approx(
        bits_per_position(result.model.code_prior, codes), rel=1e-5)
    assert 0 < loaded.metrics["independent_bits_per_position"] <= 3  # log2(8) + smoothing
    assert "learned over the 7x7 code grid" in sample_digits(loaded.model, 2, seed=1).note


def test_a_stopped_run_fits_no_code_prior(digits):
    """Stopped by the user, a VQ-VAE is kept as it was: no prior fitted to a half-trained one."""
    model_config = family_config("vqvae", latent_dim=4, conv_channels=(4, 8), codebook_size=8,
                                 code_prior_epochs=1)
    recorder = AfterTrainingRecorder()
    result = fit(build_model(model_config), digits, None,
                 TrainConfig(epochs=2, batch_size=50, device="cpu"), [recorder],
                 should_stop=lambda: True)
    assert result.stop_reason and result.epochs_completed == 1
    assert result.model.code_prior is None and recorder.reports == []
