"""Every page with your own model, an ONNX pair exported from a plain PyTorch autoencoder that
is not from ae_core (tests/onnx_pair.py), kept in saved_models/ and picked in the sidebar."""

from __future__ import annotations

import io
import json
import warnings
from pathlib import Path

import pytest
import torch
from streamlit.testing.v1 import AppTest
from torch import nn

from ae_core.data import EMBEDDED, evaluation_set
from ae_core.onnx_model import (
    ONNX_FAMILY,
    PAIR_SUFFIX,
    list_onnx_pairs,
    load_onnx_pair,
    load_onnx_paths,
    save_onnx_pair,
)
from tests.onnx_pair import export_pair, train_plain_autoencoder
from tests.pages import APP, SHIPPED, numbers
from ui import projections, state

PAGES = sorted(path.name for path in (Path(APP).parent / "app_pages").glob("*.py"))


@pytest.fixture(scope="module")
def plain(tmp_path_factory):
    encoder, decoder = train_plain_autoencoder()
    paths = export_pair(encoder, decoder, tmp_path_factory.mktemp("pair"))
    return encoder, decoder, load_onnx_paths(*paths)


@pytest.fixture(scope="module")
def vae_pair():
    """A (untrained) VAE-shaped pair: its encoder gives a mean and a log-variance."""
    torch.manual_seed(0)

    class Encoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.mean, self.log_var = nn.Linear(784, 4), nn.Linear(784, 4)

        def forward(self, x):
            return self.mean(x.flatten(1)), self.log_var(x.flatten(1)) - 2

    files = []
    for module, example, names in [(Encoder(), torch.rand(1, 1, 28, 28), (["x"], ["m", "v"])),
                                   (nn.Linear(4, 784), torch.rand(1, 4), (["z"], ["y"]))]:
        buffer = io.BytesIO()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(module.eval(), example, buffer, dynamo=False,
                              input_names=names[0], output_names=names[1],
                              dynamic_axes={name: {0: "n"} for name in sum(names, [])})
        files.append(buffer.getvalue())
    return load_onnx_pair(*files, "my_vae")


def open_with(page: str, monkeypatch, checkpoint, name: str = "mine",
              before_page: dict | None = None) -> AppTest:
    """The app on `page` with `checkpoint` kept in saved_models/ as `name` and picked (and
    `before_page` set in its session state, as another page would, before it opens)."""
    checkpoint.info["name"] = name
    target = state.SAVED_DIR / f"{name}{PAIR_SUFFIX}"
    if not target.exists():
        save_onnx_pair(target, checkpoint)
    monkeypatch.setenv("LATENT_LAB_CHECKPOINTS", str(SHIPPED))
    monkeypatch.setattr(state, "CHECKPOINT_DIR", SHIPPED)
    monkeypatch.setenv(projections.WARM_UP_ENV, "0")
    at = AppTest.from_file(APP, default_timeout=300)
    at.session_state["sliders_in_browser"] = False  # AppTest runs no JavaScript
    at.session_state[state.ACTIVE_MODEL] = f"saved: {name}"
    at.run()
    for key, value in (before_page or {}).items():
        at.session_state[key] = value
    at.switch_page(f"app_pages/{page}").run()
    assert not at.exception, at.exception
    return at


@pytest.mark.parametrize("page", PAGES)
def test_every_page_opens_with_a_pair(page, plain, monkeypatch, submitted):
    at = open_with(page, monkeypatch, plain[2])
    assert at.session_state[state.ACTIVE_MODEL] == "saved: mine"
    assert not at.error, [error.value for error in at.error]
    sidebar = "\n".join(element.value for element in at.sidebar.markdown)
    assert ONNX_FAMILY in sidebar and "latent size **8**" in sidebar


@pytest.mark.parametrize("page", ["sliders.py", "samples.py", "ae_vs_vae.py", "denoise.py"])
def test_pages_open_with_a_vae_pair(page, vae_pair, monkeypatch, submitted):
    at = open_with(page, monkeypatch, vae_pair, "my_vae")
    assert not at.error, [error.value for error in at.error]
    if page == "sliders.py":  # its mean and log-variance give the KL of every dimension
        assert "Which dimensions carry information?" in [header.value
                                                         for header in at.subheader]


def test_bottleneck_figures_are_the_pairs_own_error(plain, monkeypatch, submitted):
    """The page's table and chart give the error the torch model it came from makes."""
    encoder, decoder, checkpoint = plain
    at = open_with("bottleneck.py", monkeypatch, checkpoint)
    held_out = evaluation_set(EMBEDDED).float_images()  # the page's default source
    with torch.inference_mode():
        expected = float(((torch.sigmoid(decoder(encoder(held_out))) - held_out) ** 2).mean())
    table = at.dataframe[0].value
    row = table[table["model"] == "saved: mine"].iloc[0]
    assert row["family"] == ONNX_FAMILY and row["latent size"] == 8
    assert row["MSE / pixel"] == pytest.approx(expected, rel=1e-4)
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    trace = next(trace for trace in spec["data"] if trace["name"] == ONNX_FAMILY)
    assert numbers(trace["x"]) == [8]
    assert numbers(trace["y"])[0] == pytest.approx(expected, rel=1e-4)


def test_few_labels_probes_the_pairs_frozen_codes(plain, monkeypatch, submitted):
    at = open_with("few_labels.py", monkeypatch, plain[2])
    assert "cannot be fine-tuned" in at.info[0].value
    at.slider(key="few_labels_per_class").set_value(5)
    at.button(key="FormSubmitter:few_labels_form-Train and compare").click().run()
    assert not at.exception, at.exception
    labels = [metric.label for metric in at.metric]
    assert labels == ["Linear layer on its frozen codes", "The same layer on the pixels"]
    accuracy = float(at.metric[0].value.rstrip("%")) / 100
    assert 0.3 < accuracy <= 1  # ten classes: chance is 0.1


def test_the_latent_map_draws_a_pairs_codes_in_3d_and_asks_for_umap(plain, monkeypatch,
                                                                    submitted):
    at = open_with("latent_map.py", monkeypatch, plain[2])
    assert [(request.method, shape) for request, shape in submitted] == [("umap", (5000, 8))]
    at.segmented_control(key="latent_map_view").set_value(3).run()
    assert not at.exception, at.exception
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert {trace["type"] for trace in spec["data"]} == {"scatter3d"}
    assert [request.n_components for request, _ in submitted][-1] == 3


def test_a_pair_uploaded_in_this_session_is_kept_for_every_session(plain, monkeypatch,
                                                                    tmp_path):
    checkpoint = load_onnx_paths(*export_pair(plain[0], plain[1], tmp_path))
    checkpoint.info.update(name="uploaded", session_key="session-test")
    monkeypatch.setenv("LATENT_LAB_CHECKPOINTS", str(SHIPPED))
    monkeypatch.setattr(state, "CHECKPOINT_DIR", SHIPPED)
    at = AppTest.from_file(APP, default_timeout=300)
    at.session_state[state.SESSION_MODELS] = {"session: uploaded": checkpoint}
    at.session_state[state.ACTIVE_MODEL] = "session: uploaded"
    at.run()
    assert not at.exception, at.exception
    captions = [caption.value for caption in at.sidebar.caption]
    assert any("ONNX pair (mnist): its decoder gives logits; batch free" in caption
               for caption in captions), captions
    at.button(key="sidebar_onnx_keep").click().run()
    assert [path.name for path in list_onnx_pairs(state.SAVED_DIR)] == ["uploaded.onnx.zip"]
    assert "saved: uploaded" in at.selectbox(key=state.ACTIVE_MODEL).options
    assert any("Kept as saved: uploaded" in caption.value for caption in at.sidebar.caption)



def test_a_pair_said_to_be_for_clothes_opens_on_fashion_mnist(plain, monkeypatch, submitted,
                                                             tmp_path):
    """model.json's kind decides the images every page shows it, as a checkpoint's dataset."""
    from ui import sources

    if not sources.source_available("fashion-test"):
        pytest.skip("needs Fashion-MNIST's test set")
    checkpoint = load_onnx_paths(*export_pair(plain[0], plain[1], tmp_path))
    checkpoint.info["kind"] = "fashion-mnist"
    at = open_with("latent_map.py", monkeypatch, checkpoint, "clothes")
    assert at.selectbox(key="latent_map_source").value == "fashion-test"
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert [trace["name"] for trace in spec["data"]][:2] == ["T-shirt/top", "Trouser"]


def test_a_drawing_is_rebuilt_scored_and_guessed_by_a_pair(plain, monkeypatch, submitted):
    from tests.test_draw_page import data_url, stroke_png

    at = open_with("draw.py", monkeypatch, plain[2],
                   before_page={"draw_input": ("canvas", data_url(stroke_png()))})
    metrics = {metric.label: metric.value for metric in at.metric}
    assert metrics["The linear probe's guess"] in [str(digit) for digit in range(10)]
    assert 0 < float(metrics["Anomaly score (MSE / pixel)"]) < 0.2
    captions = " | ".join(caption for image in at.get("image") for caption in image.captions)
    assert "The model's reconstruction" in captions and "Nearest first: #" in captions
