"""What every visitor of a shipped model would wait for is answered from checkpoints/
precomputed.json (scripts/precompute.py), and only for the very checkpoints it was measured on."""

from __future__ import annotations

import json

import pytest
import streamlit as st
import torch

from ae_core.checkpoint import list_checkpoints
from ae_core.data import load_embedded
from ae_core.smoothness import ImageProbe
from tests.pages import SHIPPED, open_page
from ui import precomputed, state


def test_a_probe_comes_back_from_its_stored_state_with_the_same_answers():
    digits = load_embedded()
    images, labels = digits.float_images()[:600], digits.labels[:600]
    fitted = ImageProbe().fit(images, labels)
    restored = ImageProbe.from_state(json.loads(json.dumps(fitted.to_state())))
    torch.testing.assert_close(torch.tensor(restored.predict_proba(images[:50])),
                               torch.tensor(fitted.predict_proba(images[:50])))
    assert restored.held_out_accuracy_ == fitted.held_out_accuracy_
    assert restored.held_out_confident_ == fitted.held_out_confident_


def _refuse():
    raise AssertionError("computed although a stored result exists")


def test_a_stored_result_is_used_and_not_computed_again(tmp_path, monkeypatch):
    monkeypatch.setattr(state, "CHECKPOINT_DIR", tmp_path)
    checkpoint = tmp_path / "ae_2.safetensors"
    checkpoint.write_bytes((SHIPPED / "ae_2.safetensors").read_bytes())
    model_key = f"{checkpoint}@{checkpoint.stat().st_mtime}"
    key = json.dumps(["mse", precomputed.model_identity(model_key), "embedded"])
    store = tmp_path / "precomputed.json"
    precomputed.write({key: 0.25}, store)
    monkeypatch.setattr(precomputed, "STORE_FILE", store)
    assert precomputed.stored("mse", ("embedded",), _refuse, model_keys=(model_key,)) == 0.25
    # Another checkpoint under the same name (retrained) is measured again, not served stale.
    checkpoint.write_bytes((SHIPPED / "vae_2.safetensors").read_bytes())
    model_key = f"{checkpoint}@{checkpoint.stat().st_mtime + 1}"
    assert precomputed.stored("mse", ("embedded",), lambda: 0.5, model_keys=(model_key,)) == 0.5
    # A session's model never has an entry.
    assert precomputed.stored("mse", ("embedded",), lambda: 0.75,
                              model_keys=("session-1234",)) == 0.75


def test_the_committed_store_covers_every_shipped_checkpoint_as_it_is_now():
    found = precomputed.entries()
    assert found, "run scripts/precompute.py and commit checkpoints/precomputed.json"
    names = {json.loads(key)[0] for key in found}
    assert {"image_probe", "midpoint_fraction", "pca_curve", "reconstruction_mse",
            "denoise_curves", "home_previews"} <= names
    for path in list_checkpoints(SHIPPED):
        identity = precomputed.model_identity(f"{path}@{path.stat().st_mtime}")
        assert any(identity in json.loads(key) for key in found if "home_previews" in key), (
            f"{path.name} changed since scripts/precompute.py ran: run it again")


@pytest.mark.slow
def test_ae_vs_vae_opens_on_the_stored_judge_without_training_it(monkeypatch):
    st.cache_resource.clear()
    st.cache_data.clear()
    monkeypatch.setattr(precomputed, "_used", [])
    at = open_page("app_pages/ae_vs_vae.py", SHIPPED, monkeypatch)
    used = {json.loads(key)[0] for key in precomputed._used}
    assert {"image_probe", "midpoint_fraction"} <= used, used
    assert len(at.metric) == 2
