"""The shipped checkpoints (checkpoints/*.safetensors) and the quality table made from them."""

from __future__ import annotations

import importlib.util
import math
import os
import shutil
import struct
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from ae_core.checkpoint import list_checkpoints, load_checkpoint
from ae_core.cli import main as cli_main
from ae_core.data import (
    SHARED_MNIST_DIR,
    load_embedded,
    load_idx_folder,
    shared_test_set_available,
    train_val_split,
)
from ae_core.latent import encode_dataset
from ae_core.models import REGISTRY
from ae_core.projection import precomputed_key, precomputed_projection
from ae_core.quality import importance_weighted_nll

ROOT = Path(__file__).resolve().parent.parent
CHECKPOINTS = ROOT / "checkpoints"
SIZE_LIMIT = 25 * 1024 * 1024


def _specs() -> dict:
    """The model table of scripts/train_checkpoints.py: a new entry is tested for free."""
    spec = importlib.util.spec_from_file_location("train_checkpoints",
                                                  ROOT / "scripts" / "train_checkpoints.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it loads
    spec.loader.exec_module(module)
    return module.SPECS


SPECS = _specs()


def _stored_map(name: str, n_components: int = 2) -> tuple[str, int]:
    """(extras key, points) of the map a shipped model stores: the embedded digits' for a
    digit model; a Fashion-MNIST model's test set's (its first 5,000 in 3-D)."""
    if SPECS[name].fashion:
        return (precomputed_key("umap", "fashion-test", n_components=n_components),
                10_000 if n_components == 2 else 5000)
    return precomputed_key("umap", "embedded", n_components=n_components), 5000


def _need_test_set() -> None:
    if not shared_test_set_available():
        message = f"the MNIST test set is not at {SHARED_MNIST_DIR}"
        if os.environ.get("CI") == "true":
            pytest.fail(message + ": it must be there in CI")
        pytest.skip(message)


@pytest.fixture(scope="module", params=sorted(SPECS))
def shipped(request):
    path = CHECKPOINTS / f"{request.param}.safetensors"
    assert path.is_file(), f"{path.name} is not shipped: run scripts/train_checkpoints.py"
    return request.param, load_checkpoint(path)


def test_every_page_family_is_shipped():
    families = {load_checkpoint(path).model_config.family for path in list_checkpoints(CHECKPOINTS)}
    assert {"ae", "conv_ae", "vae", "cvae", "vqvae"} <= families
    names = {path.stem for path in list_checkpoints(CHECKPOINTS)}
    assert {"ae_2", "ae_32", "conv_ae_32", "dae_32", "vae_2", "vae_20", "beta_vae_20"} <= names
    assert "ae_32" in names  # the app's default model (ui.state.DEFAULT_CHECKPOINT)
    assert {"fashion_conv_ae_32", "fashion_vae_20"} <= names  # the second dataset (issue 13)


def test_fashion_models_learnt_all_60000_training_images():
    for name in ("fashion_conv_ae_32", "fashion_vae_20"):
        checkpoint = load_checkpoint(CHECKPOINTS / f"{name}.safetensors")
        assert checkpoint.train_config.dataset == "fashion-mnist"
        assert checkpoint.info["training_digits"] == 60_000
        assert checkpoint.info["evaluated_on"].startswith("Fashion-MNIST test set (10,000")
        assert checkpoint.metrics["mse_per_pixel"] < checkpoint.metrics["pca_mse_per_pixel"]


def test_folder_is_under_25_mb():
    total = sum(path.stat().st_size for path in CHECKPOINTS.glob("*.safetensors"))
    assert 0 < total < SIZE_LIMIT, f"{total / 2**20:.1f} MiB"


def test_checkpoint_carries_metrics_and_how_it_was_made(shipped):
    name, checkpoint = shipped
    assert checkpoint.model_config.family in REGISTRY
    for key in ("mse_per_pixel", "psnr_db", "pca_mse_per_pixel", "linear_probe_accuracy",
                "knn_accuracy", "denoised_psnr_db", "noisy_psnr_db"):
        assert math.isfinite(checkpoint.metrics[key]), key
    assert 0 < checkpoint.metrics["mse_per_pixel"] < 0.06  # a blank guess scores about 0.1
    if not checkpoint.model.is_conditional:  # a conditional code holds style, not class
        assert 0.3 < checkpoint.metrics["linear_probe_accuracy"] <= 1  # chance is 0.1
    if checkpoint.model.is_variational:
        assert checkpoint.metrics["iwae_nll"] <= checkpoint.metrics["neg_elbo"] + 1.0
    assert checkpoint.info["evaluated_on"]
    assert checkpoint.info["storage_dtype"] == "float16"
    assert checkpoint.info["training_digits"] >= 4500
    assert checkpoint.train_config is not None
    assert checkpoint.train_config.epochs == checkpoint.info["epochs_completed"]


def test_checkpoint_stores_the_latent_map_of_its_home_images(shipped):
    name, checkpoint = shipped
    key, count = _stored_map(name)
    assert key in checkpoint.extras
    stored = checkpoint.extras[key]
    assert tuple(stored.shape) == (count, 2)
    coords = precomputed_projection(checkpoint.extras, key, count)
    assert coords is not None  # finite, the shape the latent map page reads
    assert (coords.std(axis=0) > 0.1).all()  # a spread-out map, not a collapsed one


def test_checkpoint_stores_the_3d_map_unless_its_code_has_two_numbers(shipped):
    """The latent map's 3-D view opens at once: 5,000 points, float16 like the 2-D map. A
    2-D code has no 3-D view (the 2-D map is the whole code), so it stores none."""
    name, checkpoint = shipped
    key, count = _stored_map(name, 3)
    if checkpoint.model.latent_dim < 3:
        assert key not in checkpoint.extras
        return
    stored = checkpoint.extras[key]
    assert tuple(stored.shape) == (count, 3) and stored.dtype == torch.float16
    coords = precomputed_projection(checkpoint.extras, key, count, n_components=3)
    assert coords is not None and (coords.std(axis=0) > 0.1).all()


def test_stored_metrics_describe_the_stored_weights():
    """Re-measure ae_32's test MSE from the file: the metadata must match it."""
    _need_test_set()
    checkpoint = load_checkpoint(CHECKPOINTS / "ae_32.safetensors")
    assert "MNIST test set" in checkpoint.info["evaluated_on"]
    test = load_idx_folder(SHARED_MNIST_DIR, "test")
    encoded = encode_dataset(checkpoint.model, test.float_images(), test.labels)
    assert float(encoded.errors.mean()) == pytest.approx(
        checkpoint.metrics["mse_per_pixel"], rel=1e-4)
    assert checkpoint.metrics["test_digits"] == 10_000


def test_importance_weighted_bound_is_tighter_than_the_elbo(digits):
    """-log p(x) by IWAE (k = 32) lies below the single-sample negative ELBO, on real digits."""
    from ae_core.train import evaluate_terms

    checkpoint = load_checkpoint(CHECKPOINTS / "vae_20.safetensors")
    images, labels = digits.float_images()[:100], digits.labels[:100]
    torch.manual_seed(0)
    elbo = evaluate_terms(checkpoint.model, images, labels)["neg_elbo"]
    one_sample = importance_weighted_nll(checkpoint.model, images, labels, samples=1)
    tight = importance_weighted_nll(checkpoint.model, images, labels, samples=32)
    assert one_sample == pytest.approx(elbo, rel=0.05)  # k = 1 is the ELBO itself
    assert tight < one_sample - 0.5


def _write_idx(folder: Path, images: torch.Tensor, labels: torch.Tensor) -> None:
    """The MNIST test files (t10k-*) as raw idx, from uint8 (N, 28, 28) images."""
    count = len(images)
    (folder / "t10k-images-idx3-ubyte").write_bytes(
        struct.pack(">IIII", 0x803, count, 28, 28) + images.numpy().astype(np.uint8).tobytes())
    (folder / "t10k-labels-idx1-ubyte").write_bytes(
        struct.pack(">II", 0x801, count) + labels.numpy().astype(np.uint8).tobytes())


@pytest.fixture(scope="module")
def tiny_test_folder(tmp_path_factory) -> Path:
    """200 real digits the shipped models never trained on (the embedded validation split)."""
    folder = tmp_path_factory.mktemp("mnist-tiny")
    _, held_out = train_val_split(load_embedded(), 0.1, 0)
    _write_idx(folder, held_out.images[:200], held_out.labels[:200])
    return folder


def test_quality_command_writes_the_table(tmp_path, tiny_test_folder, capsys):
    folder = tmp_path / "checkpoints"
    folder.mkdir()
    shutil.copy(CHECKPOINTS / "vae_2.safetensors", folder)
    out = tmp_path / "docs" / "quality.md"
    code = cli_main(["quality", "--checkpoints", str(folder), "--dataset", str(tiny_test_folder),
                     "--out", str(out), "--iw-samples", "8"])
    assert code == 0, capsys.readouterr().err
    page = out.read_text()
    for column in ("MSE / pixel", "PSNR (dB)", "squared error / image",
                   "PCA same size: MSE / pixel", "−ELBO (nats, 1 sample)",
                   "−log p(x) (nats, IWAE k=8)", "linear probe", "k-NN (k=5)"):
        assert column in page, column
    assert "200 digits" in page
    assert "Hinton & Salakhutdinov 2006" in page and "105.6" in page
    row = next(line for line in page.splitlines() if line.startswith("| `vae_2` | vae"))
    cells = [cell.strip() for cell in row.strip("|").split("|")]
    mse, psnr = float(cells[4]), float(cells[5])
    assert 0 < mse < 0.1 and 5 < psnr < 40
    pca_row = next(line for line in page.splitlines() if line.startswith("| mnist-embedded"))
    assert "| 2 |" in pca_row  # PCA with as many components as vae_2's code
    assert "## Targets" not in page  # the acceptance targets are tests, below
    if "fashion-mnist-test" in page:  # Fashion-MNIST is here: the out-of-distribution AUC
        auc = next(line for line in page.splitlines() if line.startswith("| `vae_2` | vae | 0."))
        assert 0.5 < float(auc.strip("|").split("|")[2]) <= 1.0


def test_quality_command_prints_tables_without_out(tmp_path, tiny_test_folder, capsys):
    folder = tmp_path / "checkpoints"
    folder.mkdir()
    shutil.copy(CHECKPOINTS / "ae_2.safetensors", folder)
    code = cli_main(["quality", "--checkpoints", str(folder), "--dataset", str(tiny_test_folder),
                     "--iw-samples", "0"])
    printed = capsys.readouterr().out
    assert code == 0
    assert "| `ae_2` | ae | 2 |" in printed


def test_quality_command_names_a_missing_test_set(tmp_path, capsys):
    code = cli_main(["quality", "--checkpoints", str(CHECKPOINTS),
                     "--dataset", str(tmp_path / "nowhere")])
    assert code == 2
    assert "nowhere" in capsys.readouterr().err


# --- Acceptance targets (issue 6), on the stored test-set figures of the shipped models. Each
# checkpoint's metrics are measured from its stored weights on the MNIST test set
# (test_stored_metrics_describe_the_stored_weights checks that they still describe them).


def _stored_metrics(name: str) -> dict:
    checkpoint = load_checkpoint(CHECKPOINTS / f"{name}.safetensors")
    assert checkpoint.info["evaluated_on"].startswith("MNIST test set"), checkpoint.info
    return checkpoint.metrics


def test_target_mlp_ae_beats_pca_by_a_wide_margin():
    """32-D MLP AE: test MSE at most 0.6 x that of PCA with 32 components."""
    ae = _stored_metrics("ae_32")
    assert ae["pca_components"] == 32
    assert ae["mse_per_pixel"] <= 0.6 * ae["pca_mse_per_pixel"]


def test_target_conv_ae_beats_the_mlp_ae_of_the_same_size():
    conv, mlp = _stored_metrics("conv_ae_32"), _stored_metrics("ae_32")
    assert conv["mse_per_pixel"] < mlp["mse_per_pixel"]


def test_target_denoising_ae_gains_6_db_at_sigma_half():
    dae = _stored_metrics("dae_32")
    assert dae["denoise_sigma"] == 0.5
    assert dae["denoised_psnr_db"] - dae["noisy_psnr_db"] >= 6.0


def test_target_linear_probe_reads_the_32_d_codes():
    assert _stored_metrics("ae_32")["linear_probe_accuracy"] >= 0.9


def test_target_vqvae_ships_a_learned_prior_clearly_better_than_independent_positions():
    """Issue 14.4: the VQ-VAE samples from an autoregressive prior over its code grid, stored
    in float16 with the rest, whose test bits per position beat independent positions."""
    checkpoint = load_checkpoint(CHECKPOINTS / "vqvae.safetensors")
    assert checkpoint.model.code_prior is not None
    assert checkpoint.info["code_prior"]["evaluated_on"].startswith("MNIST test set")
    learned = checkpoint.metrics["prior_bits_per_position"]
    independent = checkpoint.metrics["independent_bits_per_position"]
    assert learned < independent - 0.8


def test_stored_prior_bits_describe_the_stored_prior():
    _need_test_set()
    from ae_core.vq_prior import bits_per_position, code_grids

    checkpoint = load_checkpoint(CHECKPOINTS / "vqvae.safetensors")
    test = load_idx_folder(SHARED_MNIST_DIR, "test")
    codes = code_grids(checkpoint.model, test.float_images())
    assert bits_per_position(checkpoint.model.code_prior, codes) == pytest.approx(
        checkpoint.metrics["prior_bits_per_position"], rel=1e-4)
