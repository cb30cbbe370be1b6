"""What the pages hand the browser decoder (ui/browser_decoder.py), under AppTest: the model's
ONNX bytes once in the carrier, every dimension in importance order, the current code; and the
one-line reason and the server path when the browser cannot decode.

What the browser does with them (a real drag, frames, pixels) is in tests/browser/.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

from ae_core.checkpoint import load_checkpoint
from ae_core.latent import decode_codes
from ui import browser_decoder, state

ort = pytest.importorskip("onnxruntime", reason="onnxruntime is a dev dependency")
ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
SHIPPED = ROOT / "checkpoints"


@pytest.fixture(autouse=True)
def shipped_models(monkeypatch):
    monkeypatch.setenv("LATENT_LAB_UMAP_WARMUP", "0")
    monkeypatch.setattr(state, "CHECKPOINT_DIR", SHIPPED)


@pytest.fixture
def runtime_installed(monkeypatch, tmp_path):
    """AppTest only checks that the file is there; the browser tests load the real one."""
    if not browser_decoder.RUNTIME_FILE.is_file():
        stand_in = tmp_path / "ort.wasm.bundle.min.mjs"
        stand_in.write_text("// stand-in")
        monkeypatch.setattr(browser_decoder, "RUNTIME_FILE", stand_in)


def open_page(page: str, model: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180)
    at.session_state[state.ACTIVE_MODEL] = f"shipped: {model}"
    at.run()
    at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def component(at: AppTest, key: str):
    """The components-v2 element mounted with `key` (AppTest shows it as an unknown element)."""
    found = [element for element in at.get("bidi_component") if element.proto.id.endswith(key)]
    assert len(found) == 1, [element.proto.id for element in at.get("bidi_component")]
    return found[0].proto


def view_data(at: AppTest, key: str) -> dict:
    return json.loads(component(at, key).json)


def carried_model(at: AppTest) -> tuple[dict, bytes]:
    """(header, ONNX bytes) the page's carrier hands the browser."""
    data = component(at, "browser_decoder_model").bytes
    length = struct.unpack("<I", data[:4])[0]
    return json.loads(data[4:4 + length]), data[4 + length:]


@pytest.mark.parametrize("name", ["ae_32", "conv_ae_32", "vqvae", "cvae_2"])
def test_sliders_hand_the_browser_every_dimension_and_a_decoder_that_matches(name,
                                                                             runtime_installed):
    at = open_page("app_pages/sliders.py", name)
    data = view_data(at, "sliders_live")
    header, onnx = carried_model(at)
    net = load_checkpoint(SHIPPED / f"{name}.safetensors").model.eval()
    order = [dim["index"] for dim in data["dims"]]
    assert sorted(order) == list(range(net.latent_dim))  # all of them, not the first 8
    assert data["mode"] == "sliders" and header["id"] == data["model_id"]
    assert header["conditional"] == net.is_conditional
    assert all(dim["low"] <= data["code"][dim["index"]] <= dim["high"] for dim in data["dims"])
    assert len(at.slider) == 0  # no server sliders beside the browser's
    code = torch.tensor([data["code"]])
    labels = torch.tensor([data["label"]]) if net.is_conditional else None
    feeds = {"code": code.numpy()} | ({"label": labels.numpy()} if labels is not None else {})
    browser = ort.InferenceSession(onnx).run(["image"], feeds)[0]
    np.testing.assert_allclose(browser, decode_codes(net, code, labels).numpy(), atol=1e-5)


def test_the_order_is_the_importance_order_and_reset_sends_a_new_revision(runtime_installed):
    at = open_page("app_pages/sliders.py", "ae_32")
    data = view_data(at, "sliders_live")
    traversal = [int(option.split("]")[0][2:])
                 for option in at.selectbox(key="sliders_traverse_dim").options]
    assert [dim["index"] for dim in data["dims"]] == traversal
    at.button(key="sliders_randomise").click().run()
    randomised = view_data(at, "sliders_live")
    assert randomised["revision"] > data["revision"] and randomised["code"] != data["code"]
    at.button(key="sliders_reset").click().run()
    assert view_data(at, "sliders_live")["code"] == data["code"]


def test_interpolation_hands_the_browser_the_path_to_scrub(runtime_installed):
    at = open_page("app_pages/interpolate.py", "vae_20")
    data = view_data(at, "interpolate_live")
    assert data["mode"] == "path" and len(data["path"]) == 61 and len(data["path"][0]) == 20
    assert "interpolate_scrub" not in [slider.key for slider in at.slider]  # no server scrub


def test_a_2d_model_decodes_the_map_under_the_pointer(runtime_installed):
    at = open_page("app_pages/latent_map.py", "ae_2")
    data = view_data(at, "latent_map_live")
    assert data["mode"] == "map" and "latent_map_chart" in data["chart"]


def test_without_the_runtime_the_pages_say_so_and_decode_on_the_server(monkeypatch, tmp_path):
    monkeypatch.setattr(browser_decoder, "RUNTIME_FILE", tmp_path / "absent.mjs")
    at = open_page("app_pages/sliders.py", "ae_32")
    notes = [caption.value for caption in at.caption if "Decoding on the server" in caption.value]
    assert notes == [":material/info: Decoding on the server: its runtime is not installed "
                     "(bash scripts/setup.sh installs it)."]
    assert len(at.slider) == 8 and not [element for element in at.get("bidi_component")
                                        if "decoder" in element.proto.component_name]
    before = [image.value[0] for image in at.get("image")]
    at.slider[0].set_value(at.slider[0].max).run()
    assert [image.value[0] for image in at.get("image")][1] != before[1]
    at.switch_page("app_pages/interpolate.py").run()
    assert at.slider(key="interpolate_scrub").value == 30


def test_a_browser_that_failed_gets_the_server_path_and_a_retry(runtime_installed):
    at = AppTest.from_file(APP, default_timeout=180)
    at.session_state[state.ACTIVE_MODEL] = "shipped: ae_32"
    at.session_state[state.BROWSER_DECODER_FAILURE] = "no WebAssembly"
    at.run()
    at.switch_page("app_pages/sliders.py").run()
    assert any("the browser could not run the decoder (no WebAssembly)" in caption.value
               for caption in at.caption)
    assert len(at.slider) == 8
    at.button(key="sliders_retry_browser").click().run()
    assert not at.exception and len(at.slider) == 0
    assert view_data(at, "sliders_live")["mode"] == "sliders"
