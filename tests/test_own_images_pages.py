"""A model trained on your own images (letters A, B, C drawn with PIL, tests/letters.py) opens
on every page: no exception, no error, its class names where classes are shown, and no word of
digits. Also when its images are gone: it still names its classes, with a note."""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from pathlib import Path

import pytest

from ae_core.checkpoint import load_checkpoint
from ae_core.cli import main
from tests.letters import LETTERS, make_letters, zip_folder
from tests.pages import open_page
from ui.own_images import UPLOAD_KEY
from ui.plain_text import inert

PAGES = ("home", "sliders", "interpolate", "draw", "samples", "latent_map", "denoise",
         "anomaly", "bottleneck", "ae_vs_vae", "few_labels", "train")
NAME = "letters_ae"


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[Path, Path]:
    """(checkpoints folder, letters folder): a tiny model trained on 3 x 12 letters."""
    root = tmp_path_factory.mktemp("own_pages")
    letters = make_letters(root / "letters", per_class=12)
    folder = root / "checkpoints"
    folder.mkdir()
    assert main(["train", "--dataset", str(letters), "--epochs", "1", "--latent-dim", "2",
                 "--hidden-sizes", "32", "--batch-size", "16",
                 "--out", str(folder / f"{NAME}.safetensors")]) == 0
    return folder, letters


def page_text(at) -> str:
    """What the page writes (widget options aside: image sets of other kinds, such as the
    digits a map may show it too, and model families are named as they are)."""
    parts = [element.value for kind in ("markdown", "caption", "title", "header", "subheader",
                                        "info", "warning", "success", "text")
             for element in at.get(kind)]
    parts += [widget.label for kind in ("selectbox", "multiselect", "radio", "slider")
              for widget in at.get(kind)]
    return "\n".join(str(part) for part in parts)


def class_options(at) -> list[list[str]]:
    return [list(widget.options) for kind in ("selectbox", "multiselect")
            for widget in at.get(kind) if "class" in str(widget.label).lower()]


@pytest.mark.parametrize("page", PAGES)
def test_every_page_opens_with_a_letters_model(trained, page, monkeypatch):
    folder, _ = trained
    at = open_page(f"app_pages/{page}.py", folder, monkeypatch, model=NAME)
    assert not at.error, [error.value for error in at.error]
    text = page_text(at)
    digits = [line for line in text.splitlines() if re.search(r"\bdigits?\b", line, re.I)]
    assert not digits, digits
    # The Train page's classes are those of the images it trains on (digits unless chosen).
    for options in class_options(at) if page != "train" else []:
        assert set(options) <= {*LETTERS, "any", "all", "none", "(none)"}, options
    load_checkpoint(folder / f"{NAME}.safetensors")


def chart_names(at) -> set[str]:
    """The names of the traces of the page's plotly charts (a map's legend)."""
    return {str(trace.get("name")) for chart in at.get("plotly_chart")
            for trace in json.loads(chart.proto.spec).get("data", [])}


def test_the_map_is_coloured_by_the_letters_and_anomaly_holds_one_out(trained, monkeypatch):
    folder, _ = trained
    at = open_page("app_pages/latent_map.py", folder, monkeypatch, model=NAME)
    assert set(LETTERS) <= chart_names(at)
    at = open_page("app_pages/anomaly.py", folder, monkeypatch, model=NAME)
    assert list(LETTERS) in class_options(at)


def test_the_command_line_finds_the_models_own_images(trained, tmp_path, capsys):
    folder, _ = trained
    checkpoint = str(folder / f"{NAME}.safetensors")
    capsys.readouterr()
    assert main(["evaluate", checkpoint]) == 0
    assert " on letters-test, 6 images" in capsys.readouterr().out
    assert main(["map", checkpoint, "--out", str(tmp_path / "map.png")]) == 0
    assert "images of letters-test" in capsys.readouterr().out


def test_a_model_whose_images_are_gone_still_opens_and_says_so(tmp_path, monkeypatch,
                                                              capsys):
    letters = make_letters(tmp_path / "gone", per_class=6)
    folder = tmp_path / "checkpoints"
    folder.mkdir()
    assert main(["train", "--dataset", str(letters), "--epochs", "1", "--latent-dim", "2",
                 "--hidden-sizes", "16", "--batch-size", "16",
                 "--out", str(folder / "gone_ae.safetensors")]) == 0
    shutil.rmtree(letters)
    checkpoint = str(folder / "gone_ae.safetensors")
    capsys.readouterr()
    for command in (["evaluate", checkpoint], ["map", checkpoint, "--out", str(tmp_path / "m.png")],
                    ["sample", checkpoint, "--out", str(tmp_path / "s.png")]):
        assert main(command) != 0
        assert capsys.readouterr().err == (f"error: the images this model was trained on "
                                           f"({letters}) are not here: give --dataset PATH\n")
    for page in PAGES[:-1]:  # the Train page draws no model
        at = open_page(f"app_pages/{page}.py", folder, monkeypatch, model="gone_ae")
        assert not at.error, [error.value for error in at.error]
        notes = [caption.value for caption in at.caption if "are not here" in caption.value]
        assert notes == ["The images gone_ae was trained on (gone: A, B, C) are not here: the "
                         "pages show it the embedded digits."], notes


def test_a_session_model_trained_on_an_uploaded_zip_opens_on_every_page(monkeypatch, tmp_path):
    """Uploaded on the Train page (the zip in a temporary folder), trained, named with markdown
    by its visitor: every page opens with its letters, and the name is shown as typed."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    letters = make_letters(tmp_path / "letters", per_class=8)
    at = open_page("app_pages/train.py", tmp_path, monkeypatch)
    at.file_uploader(key=UPLOAD_KEY).set_value(
        ("my letters.zip", zip_folder(letters), "application/zip")).run()
    at.number_input(key="train_latent_dim").set_value(2)
    at.text_input(key="train_hidden_sizes").set_value("16")
    at.number_input(key="train_epochs").set_value(1)
    at.select_slider(key="train_batch_size").set_value(16)
    at.text_input(key="train_name").set_value("[x](https://e.example)").run()
    at.button(key="train_start").click().run()
    assert not at.exception, at.exception
    # The run's result speaks of images (the Train page's own choices of data aside).
    result = [line for line in page_text(at).splitlines()
              if re.search(r"\bdigits?\b", line, re.I)]
    assert not result, result
    assert any("codes of real images" in info.value for info in at.info), at.info
    for page in PAGES[:-1]:
        at.switch_page(f"app_pages/{page}.py").run()
        assert not at.exception, (page, at.exception)
        assert not at.error, (page, [error.value for error in at.error])
        digits = [line for line in page_text(at).splitlines()
                  if re.search(r"\bdigits?\b", line, re.I)]
        assert not digits, (page, digits)
        if page == "anomaly":
            assert list(LETTERS) in class_options(at)
            warning = next(w.value for w in at.warning if "in training" in w.value)
            assert warning.startswith("**session: \\[x\\](https\\://e.example)** saw A"), warning
        if page == "latent_map":
            assert set(LETTERS) <= chart_names(at)
    # Another upload replaces the first, whose temporary folder goes: the model still opens.
    at.switch_page("app_pages/train.py").run()
    more = make_letters(tmp_path / "more", per_class=4, letters=("X", "Y"))
    at.file_uploader(key=UPLOAD_KEY).set_value(
        ("xy.zip", zip_folder(more), "application/zip")).run()
    at.switch_page("app_pages/latent_map.py").run()
    assert not at.exception and not at.error, at.exception
    assert any("(my_letters.zip: A, B, C) are not here" in caption.value
               for caption in at.caption), [caption.value for caption in at.caption]


def test_class_names_from_files_are_text_in_image_captions(tmp_path, monkeypatch):
    # st.image renders its caption as markdown: a class (a folder's name) written like an
    # image or a link must reach it escaped (ui.plain_text.inert), as other text from files.
    names = ("A", "![B](x.png)", "[C](x)")
    letters = make_letters(tmp_path / "letters", per_class=12, letters=names)
    folder = tmp_path / "checkpoints"
    folder.mkdir()
    assert main(["train", "--dataset", str(letters), "--epochs", "1", "--latent-dim", "2",
                 "--hidden-sizes", "32", "--batch-size", "16",
                 "--out", str(folder / f"{NAME}.safetensors")]) == 0
    escaped = {inert(name) for name in names[1:]}
    at = open_page("app_pages/latent_map.py", folder, monkeypatch, model=NAME)
    captions = []
    for index in range(6):  # the selected image's class names it, one image at a time
        at.number_input(key="latent_map_index").set_value(index).run()
        assert not at.exception, at.exception
        captions += [caption for image in at.get("image") for caption in image.captions]
    assert not [caption for caption in captions if "[B]" in caption or "[C]" in caption]
    assert [name for name in escaped for caption in captions if name in caption], captions
