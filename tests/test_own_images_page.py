"""The Train page under AppTest with your own images: a zip of letters uploaded becomes the
session's data set (a grid with class names and counts), a quick run on it becomes the active
model with the letters' class names; a bad zip is refused in one line and keeps nothing."""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

import numpy as np
import pytest

from ae_core.own_images import load_own_images
from tests.letters import LETTERS, make_letters, zip_folder
from tests.pages import open_page
from ui import state
from ui.own_images import UPLOAD_KEY, SessionImages
from ui.plain_text import inert


@pytest.fixture
def session_temp(tmp_path, monkeypatch) -> Path:
    """Where the page's temporary folders go in this test (tempfile's own setting)."""
    folder = tmp_path / "temp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def image_folders(folder: Path) -> list[str]:
    """The page's temporary folders (torch may keep its own beside them)."""
    return [path.name for path in folder.glob("latent-lab-images-*")]


def upload(at, name: str, data: bytes) -> None:
    at.file_uploader(key=UPLOAD_KEY).set_value((name, data, "application/zip")).run()
    assert not at.exception, at.exception


def test_an_uploaded_zip_of_letters_trains_a_model_of_letters(monkeypatch, tmp_path,
                                                             session_temp):
    letters = make_letters(tmp_path / "letters", per_class=10)
    at = open_page("app_pages/train.py", tmp_path, monkeypatch)
    upload(at, "my letters.zip", zip_folder(letters, "letters/"))
    images = at.session_state[state.OWN_IMAGES]
    assert isinstance(images, SessionImages) and images.class_names == LETTERS
    assert images.path.parent.parent == session_temp and images.path.name == "my_letters.zip"
    assert not at.error
    caption = at.get("image")[0].captions[0]
    assert caption.startswith("A: 10 · B: 10 · C: 10") and "24 to train on, 6 held out" in caption
    assert at.selectbox(key="train_dataset").value == images.source  # picked to train on

    at.number_input(key="train_latent_dim").set_value(2)
    at.text_input(key="train_hidden_sizes").set_value("32")
    at.number_input(key="train_epochs").set_value(1)
    at.select_slider(key="train_batch_size").set_value(16)
    classes = at.multiselect(key="train_exclude_classes")
    assert classes.options == list(LETTERS) and classes.max_selections == 2
    classes.set_value([1])  # an anomaly detector for B
    at.text_input(key="train_name").set_value("letters").run()
    at.button(key="train_start").click().run()
    assert not at.exception, at.exception
    run = at.session_state[state.TRAIN_RUN]
    assert run.finished and not run.diverged
    assert run.sample.class_names == LETTERS and run.train_config.exclude_classes == (1,)
    assert set(run.sample.labels.tolist()) <= {0, 2}  # no B learned from
    assert run.checkpoint.train_config.dataset == images.source
    assert run.checkpoint.info["class_names"] == list(LETTERS)
    active = (at.session_state[state.PENDING_ACTIVE_MODEL]
              if state.PENDING_ACTIVE_MODEL in at.session_state
              else at.session_state[state.ACTIVE_MODEL])  # once the picker has run
    assert active == "session: letters"
    assert at.session_state[state.SESSION_MODELS]["session: letters"] is run.checkpoint

    # A bad zip: one line, nothing kept, the letters stay the session's images.
    one_class = make_letters(tmp_path / "one", per_class=3, letters=("Z",))
    upload(at, "one.zip", zip_folder(one_class))
    assert len(at.error) == 1 and at.error[0].value.startswith("These images cannot be used")
    assert "one class only" in at.error[0].value and "\n" not in at.error[0].value
    assert at.session_state[state.OWN_IMAGES] is images and images.path.is_file()
    assert image_folders(session_temp) == [images.path.parent.name]

    # Another good zip replaces the first, whose folder goes.
    more = make_letters(tmp_path / "more", per_class=4, letters=("X", "Y"))
    upload(at, "xy.zip", zip_folder(more))
    replaced = at.session_state[state.OWN_IMAGES]
    assert replaced.class_names == ("X", "Y") and replaced.path.is_file()
    assert image_folders(session_temp) == [replaced.path.parent.name]
    assert at.selectbox(key="train_dataset").value == replaced.source
    assert at.selectbox(key="train_dataset").options[-1] == "Your images: xy.zip (2 classes)"
    assert at.multiselect(key="train_exclude_classes").options == ["X", "Y"]
    assert at.multiselect(key="train_exclude_classes").value == [1]  # Y: still one left
    at.selectbox(key="train_dataset").set_value("mnist-embedded").run()
    assert at.multiselect(key="train_exclude_classes").options == [str(d) for d in range(10)]

    # An .npz on its own is taken too.
    buffer = io.BytesIO()
    images = load_own_images(more)
    np.savez(buffer, x=images.train.images.numpy(), y=images.train.labels.numpy(),
             classes=np.array(["ex", "why"]))
    upload(at, "xy.npz", buffer.getvalue())
    assert at.session_state[state.OWN_IMAGES].class_names == ("ex", "why")
    assert at.session_state[state.OWN_IMAGES].path.name == "xy.npz"


def test_class_names_from_an_upload_are_text_in_the_grids_caption(monkeypatch, tmp_path,
                                                                   session_temp):
    # A folder named like a markdown image or link must not make visitors' browsers fetch it
    # (st.image renders its caption as markdown).
    names = ("A", "![B](x.png)", "[C](x)")
    letters = make_letters(tmp_path / "letters", per_class=10, letters=names)
    at = open_page("app_pages/train.py", tmp_path, monkeypatch)
    upload(at, "letters.zip", zip_folder(letters, "letters/"))
    assert at.session_state[state.OWN_IMAGES].class_names == tuple(sorted(names))
    caption = at.get("image")[0].captions[0]
    assert f"{inert('![B](x.png)')}: 10" in caption and f"{inert('[C](x)')}: 10" in caption
    assert "[B]" not in caption and "[C]" not in caption
