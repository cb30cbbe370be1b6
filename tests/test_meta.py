"""Shapes from the meta device are the real model's, and reading them imports nothing heavy."""

from __future__ import annotations

import subprocess
import sys

import pytest

from ae_core.models import REGISTRY, build_model, expected_shapes
from ae_core.vq_prior import CodePrior, CodePriorConfig, expected_prior_shapes
from tests.test_models import small_config
from ui import state


@pytest.mark.parametrize("family", sorted(REGISTRY))
def test_every_familys_meta_shapes_are_its_real_shapes(family):
    config = small_config(family)
    real = {name: tuple(value.shape) for name, value in build_model(config)
            .state_dict().items()}
    assert expected_shapes(config) == real


def test_a_code_priors_meta_shapes_are_its_real_shapes():
    config = CodePriorConfig(codebook_size=16, grid_size=7)
    real = {name: tuple(value.shape) for name, value in CodePrior(config).state_dict().items()}
    assert expected_prior_shapes(config) == real


def test_loading_the_vqvae_imports_no_compiler_stack():
    # Random fills on the meta device used to import torch._dynamo and sympy: ~10 s and
    # ~150 MB on the first VQ-VAE a server loaded.
    probe = ("import sys; from ae_core.checkpoint import load_checkpoint; "
             "load_checkpoint('checkpoints/vqvae.safetensors'); "
             "print(sorted({m.split('.')[0] + '.' + m.split('.')[1] if m.startswith('torch.')"
             " else m.split('.')[0] for m in sys.modules if m.startswith(('torch._dynamo',"
             " 'sympy'))}))")
    out = subprocess.run([sys.executable, "-c", probe], cwd=state.PROJECT_ROOT, text=True,
                         capture_output=True, check=True).stdout
    assert out.strip() == "[]", out
