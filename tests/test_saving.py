"""A trained model is never lost (issue 12): the target is checked before training, a name taken
meanwhile gives a new name, a target that cannot be written gives a fallback file."""

from __future__ import annotations

import shutil
import tempfile
from collections import namedtuple
from pathlib import Path

import pytest
import torch

from ae_core import cli, saving
from ae_core.checkpoint import load_checkpoint, save_checkpoint
from ae_core.config import ModelConfig
from ae_core.models import build_model

TINY = ["--family", "ae", "--latent-dim", "2", "--hidden-sizes", "16", "--epochs", "1",
        "--batch-size", "512", "--exclude-classes", "2", "3", "4", "5", "6", "7", "8", "9"]


def run_main(capsys, *args: str) -> tuple[int, str, str]:
    code = cli.main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def no_training(monkeypatch):
    """Fails the test if training starts: the target must be refused first."""
    monkeypatch.setattr(cli, "train_model", lambda *a, **k: pytest.fail("training started"))


def test_an_unwritable_target_is_refused_before_training(capsys, no_training):
    code, _, err = run_main(capsys, "train", *TINY, "--out", "/proc/latent-lab/m.safetensors")
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_a_full_disk_is_refused_before_training(capsys, tmp_path, no_training, monkeypatch):
    Usage = namedtuple("Usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda path: Usage(10**9, 10**9 - 1000, 1000))
    code, _, err = run_main(capsys, "train", *TINY, "--out", str(tmp_path / "m.safetensors"))
    assert code == 2 and "MB free; saving this model needs about" in err
    assert list(tmp_path.iterdir()) == []  # and the probe left nothing behind


def test_a_name_taken_while_training_keeps_both_models(capsys, tmp_path, monkeypatch):
    out = tmp_path / "same.safetensors"
    other = build_model(ModelConfig(latent_dim=3, hidden_sizes=(8,)))
    real_train = cli.train_model

    def another_run_finishes_first(*args, **kwargs):
        result = real_train(*args, **kwargs)
        save_checkpoint(out, other)  # the other `train --out same.safetensors`
        return result

    monkeypatch.setattr(cli, "train_model", another_run_finishes_first)
    code, out_text, err = run_main(capsys, "train", *TINY, "--out", str(out))
    assert code == 0
    assert "same.safetensors was taken while this model trained; saved as same-2" in err
    assert load_checkpoint(out).model_config.latent_dim == 3  # the other run's model is there
    assert load_checkpoint(tmp_path / "same-2.safetensors").model_config.latent_dim == 2
    assert "saved " + str(tmp_path / "same-2.safetensors") in out_text


def test_a_write_that_fails_after_training_keeps_the_model_in_a_fallback(capsys, tmp_path,
                                                                          monkeypatch):
    out = tmp_path / "m.safetensors"
    real_save = saving.save_checkpoint

    def disk_full_at_the_target(path, *args, **kwargs):
        if Path(path).parent == tmp_path:
            raise OSError(28, "No space left on device")
        return real_save(path, *args, **kwargs)

    monkeypatch.setattr(saving, "save_checkpoint", disk_full_at_the_target)
    code, _, err = run_main(capsys, "train", *TINY, "--out", str(out))
    assert code == 1
    assert "could not write" in err and "No space left on device" in err
    fallback = Path(err.split("the model is kept in ")[1].strip())
    try:
        assert fallback.parent == Path(tempfile.gettempdir())
        assert load_checkpoint(fallback).model_config.latent_dim == 2
    finally:
        fallback.unlink(missing_ok=True)


def test_keep_replaces_only_when_told(tmp_path):
    model = build_model(ModelConfig(latent_dim=2, hidden_sizes=(8,)))
    first = saving.keep(tmp_path / "a.safetensors", model)
    assert first.path == tmp_path / "a.safetensors" and first.note is None
    second = saving.keep(tmp_path / "a.safetensors", model)
    assert second.path == tmp_path / "a-2.safetensors"
    third = saving.keep(tmp_path / "a.safetensors", model, replace=True)
    assert third.path == tmp_path / "a.safetensors" and third.note is None
    torch.testing.assert_close(load_checkpoint(third.path).model.state_dict(),
                               model.state_dict())
