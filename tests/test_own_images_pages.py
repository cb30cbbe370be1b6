"""A model trained on your own images (letters A, B, C drawn with PIL, tests/letters.py) opens
on every page: no exception, no error, its class names where classes are shown, and no word of
digits. Also when its images are gone: it still names its classes, with a note."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ae_core.checkpoint import load_checkpoint
from ae_core.cli import main
from tests.letters import LETTERS, make_letters
from tests.pages import open_page

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
