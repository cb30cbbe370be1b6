"""Forms and commands that ask for all the memory (issue 12): the same parameter budget and
size bounds guard the loader, the command line and the Train page, with one-line reasons."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from ae_core.config import ModelConfig
from ae_core.models import MAX_PARAMETERS, REGISTRY, build_model, expected_shapes
from tests.conftest import family_config
from ui import state

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("family", sorted(REGISTRY))
def test_expected_shapes_are_the_built_models_shapes(family):
    config = family_config(family, latent_dim=3, hidden_sizes=(32,), conv_channels=(4, 8),
                           codebook_size=8)
    built = {name: tuple(value.shape) for name, value in build_model(config).state_dict().items()}
    assert expected_shapes(config) == built


def test_a_model_over_the_budget_is_refused_without_allocating_it():
    config = ModelConfig(hidden_sizes=(8192,) * 8)  # ~1 G parameters
    with pytest.raises(ValueError, match=f"the limit is {MAX_PARAMETERS:,}"):
        build_model(config)


def test_the_command_line_refuses_it_in_one_line(tmp_path):
    command = [sys.executable, "-m", "ae_core", "train", "--hidden-sizes", *["8192"] * 8,
               "--epochs", "1", "--out", str(tmp_path / "m.safetensors")]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "parameters; the limit is 20,000,000" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
    assert not (tmp_path / "m.safetensors").exists()


@pytest.mark.parametrize("sizes, reason", [
    (", ".join(["8192"] * 40), "must hold 0 to 8 entries"),
    (", ".join(["8192"] * 8), "parameters; the limit is 20,000,000"),
])
def test_the_train_page_refuses_it_and_keeps_the_button_off(monkeypatch, tmp_path, sizes,
                                                          reason):
    monkeypatch.setenv("LATENT_LAB_UMAP_WARMUP", "0")
    monkeypatch.setattr(state, "CHECKPOINT_DIR", ROOT / "checkpoints")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    at.switch_page("app_pages/train.py").run()
    at.text_input(key="train_hidden_sizes").set_value(sizes).run()
    assert not at.exception
    assert any(reason in error.value for error in at.error), [e.value for e in at.error]
    assert at.button(key="train_start").disabled
