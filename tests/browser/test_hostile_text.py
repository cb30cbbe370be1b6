"""Text from a file is text in the browser (issue 24): a checkpoint whose format version or
dataset is a markdown image and link shows those characters, and the page holds no image
from, nor a link to, the address they name."""

from __future__ import annotations

import json

from safetensors import safe_open
from safetensors.torch import save_file

from tests.browser.conftest import wait_for_app
from tests.browser.server import PROJECT_ROOT

BEACON = ("![seen](http://127.0.0.1:9/beacon.png) [click](https://elsewhere.example/x) "
          "www.elsewhere.example")
OUTSIDE = """() => [...document.querySelectorAll("img, a")].filter(element =>
    (element.src || element.href || "").includes("beacon")
    || (element.href || "").includes("elsewhere")).length"""


def hostile_copy(path, **metadata: str) -> None:
    source = PROJECT_ROOT / "checkpoints" / "ae_2.safetensors"
    with safe_open(str(source), framework="pt") as reader:
        tensors = {name: reader.get_tensor(name) for name in reader.keys()}
        original = reader.metadata()
    save_file(tensors, str(path), metadata={**original, **metadata})


def test_markdown_from_a_checkpoint_is_shown_as_text(page, app_url, tmp_path):
    page.goto(app_url)
    wait_for_app(page, 60_000)
    upload = page.locator("[data-testid='stSidebar'] .st-key-sidebar_upload input[type='file']")
    sidebar = page.locator("[data-testid='stSidebar']")

    version = tmp_path / "version.safetensors"
    hostile_copy(version, format_version=BEACON)
    upload.set_input_files(str(version))
    page.get_by_text("version.safetensors was not loaded").wait_for()
    assert "'![seen](http://127.0.0" in sidebar.inner_text()  # the version, cut at 24
    assert page.evaluate(OUTSIDE) == 0

    dataset = tmp_path / "dataset.safetensors"
    with safe_open(str(version), framework="pt") as reader:
        train = json.loads(reader.metadata()["train_config"])
    hostile_copy(dataset, train_config=json.dumps({**train, "dataset": "x`" + BEACON}))
    upload.set_input_files(str(dataset))
    sidebar.get_by_text("latent size 2").wait_for()
    wait_for_app(page, 60_000)
    assert "![seen](http://127.0.0.1:9/beacon.png)" in sidebar.inner_text()
    assert page.evaluate(OUTSIDE) == 0
