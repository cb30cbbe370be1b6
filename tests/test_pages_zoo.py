"""The sliders page's model-zoo panels under AppTest, on the shipped checkpoints: the VQ-VAE
codebook editor, the per-dimension KL of variational models, the conditional class grid."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from streamlit.testing.v1 import AppTest

from ae_core.checkpoint import load_checkpoint
from ae_core.models.vae import per_dimension_kl, unused_dimensions
from ui import state
from ui.zoo_panels import KL_DIGITS, VQ_INDICES_KEY, VQ_START_KEY

APP = str(Path(__file__).resolve().parents[1] / "app.py")
SHIPPED = Path(__file__).resolve().parents[1] / "checkpoints"
SLIDERS = "app_pages/sliders.py"


@pytest.fixture(autouse=True)
def no_umap_warm_up(monkeypatch):
    """The sliders page never uses UMAP: no compile thread importing beside the script."""
    monkeypatch.setenv("LATENT_LAB_UMAP_WARMUP", "0")


def open_page(page: str, monkeypatch, model: str) -> AppTest:
    """The app on `page` with the shipped `model` active."""
    monkeypatch.setenv("LATENT_LAB_CHECKPOINTS", str(SHIPPED))
    monkeypatch.setattr(state, "CHECKPOINT_DIR", SHIPPED)
    at = AppTest.from_file(APP, default_timeout=180)
    at.session_state[state.ACTIVE_MODEL] = f"shipped: {model}"
    at.session_state["sliders_in_browser"] = False  # AppTest runs no JavaScript
    at.run()
    at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def image_urls(at: AppTest, caption_start: str) -> list[str]:
    """URLs of the images whose caption starts so; AppTest names media by their bytes' hash."""
    return [image.value[0] for image in at.get("image")
            if image.captions and image.captions[0].startswith(caption_start)]


def image_url(at: AppTest, caption_start: str) -> str:
    urls = image_urls(at, caption_start)
    assert len(urls) == 1, [image.captions for image in at.get("image")]
    return urls[0]


def chart_keys(at: AppTest) -> list[str]:
    """Keys of the page's plotly charts (their element id ends with the key)."""
    return [chart.proto.id.rsplit("-", 1)[-1] for chart in at.get("plotly_chart")]


def chart_spec(at: AppTest, key: str) -> dict:
    return next(json.loads(chart.proto.spec) for chart in at.get("plotly_chart")
                if chart.proto.id.endswith(key))


def markdown(at: AppTest) -> str:
    return "\n".join(element.value for element in at.markdown)


def skip_without(name: str) -> None:
    if not (SHIPPED / f"{name}.safetensors").exists():
        pytest.skip(f"checkpoints/{name}.safetensors is not shipped in this checkout")


# VQ-VAE --------------------------------------------------------------------------------------


def test_vq_editor_shows_the_digits_entries_and_an_edit_changes_the_picture(monkeypatch,
                                                                            embedded):
    skip_without("vqvae")
    at = open_page(SLIDERS, monkeypatch, "vqvae")
    net = load_checkpoint(SHIPPED / "vqvae.safetensors").model
    # The picker starts on the first zero of the embedded digits.
    index = int(torch.nonzero(embedded.labels == 0)[0, 0])
    expected = net.code_indices(embedded.float_images()[index:index + 1])[0].tolist()
    assert at.session_state[VQ_INDICES_KEY] == expected
    assert len(expected) == 49

    before = image_url(at, "Decoded from the entries")
    digit = image_urls(at, "The digit")
    row, column = 3, 3
    position = row * 7 + column
    entry = at.number_input(key="sliders_vq_entry")
    assert entry.value == expected[position]
    assert (entry.min, entry.max) == (0, 63)
    new_entry = (expected[position] + 17) % 64
    entry.set_value(new_entry).run()
    assert not at.exception, at.exception
    assert at.session_state[VQ_INDICES_KEY][position] == new_entry
    assert sum(a != b for a, b in zip(at.session_state[VQ_INDICES_KEY], expected,
                                      strict=True)) == 1
    after = image_url(at, "Decoded from the entries")
    assert after != before
    assert image_urls(at, "The digit") == digit  # the digit itself does not move

    # Another position: the entry slider shows what that position holds.
    at.selectbox(key="sliders_vq_row").set_value(0).run()
    assert at.number_input(key="sliders_vq_entry").value == expected[column]

    at.button(key="sliders_vq_reset").click().run()
    assert at.session_state[VQ_INDICES_KEY] == expected
    assert image_url(at, "Decoded from the entries") == before


def test_vq_codebook_usage_and_prior_sample(monkeypatch, embedded):
    skip_without("vqvae")
    at = open_page(SLIDERS, monkeypatch, "vqvae")
    assert {"sliders_vq_grid", "sliders_vq_usage"} <= set(chart_keys(at))
    net = load_checkpoint(SHIPPED / "vqvae.safetensors").model
    with torch.inference_mode():
        frequencies = net.code_counts(embedded.float_images()).sum(0)
    used = int((frequencies > 0).sum())
    assert f"**{used} of 64** entries used, **{64 - used}** dead" in markdown(at)
    bars = chart_spec(at, "sliders_vq_usage")["data"][0]
    colours = bars["marker"]["color"]  # one bar per entry, dead ones grey
    assert len(colours) == 64 and colours.count("#BBBBBB") == 64 - used

    start = list(at.session_state[VQ_START_KEY])
    at.button(key="sliders_vq_prior").click().run()
    assert not at.exception, at.exception
    sampled = at.session_state[VQ_INDICES_KEY]
    assert sampled != start and all(0 <= entry < 64 for entry in sampled)
    image_url(at, "Sampled from the prior")


# Variational models: KL per dimension ----------------------------------------------------------


@pytest.mark.parametrize("name", ["vae_20", "beta_vae_20"])
def test_kl_chart_counts_the_collapsed_dimensions(monkeypatch, embedded, name):
    skip_without(name)
    at = open_page(SLIDERS, monkeypatch, name)
    assert "sliders_kl_chart" in chart_keys(at)
    model = load_checkpoint(SHIPPED / f"{name}.safetensors").model
    kl = per_dimension_kl(model, embedded.float_images()[:KL_DIGITS],
                          embedded.labels[:KL_DIGITS])
    unused = unused_dimensions(kl)
    text = markdown(at)
    if unused:
        assert f"**{len(unused)} of 20 dimensions unused**" in text
    else:
        assert "**All 20 dimensions in use**" in text
    bars = chart_spec(at, "sliders_kl_chart")["data"][0]
    grey = [i for i, colour in enumerate(bars["marker"]["color"]) if colour == "#BBBBBB"]
    assert grey == unused
    beta_notes = [info.value for info in at.info if "β =" in info.value]
    if model.config.beta != 1.0:
        assert beta_notes and f"β = {model.config.beta:g}" in beta_notes[0]
    else:
        assert not beta_notes


def test_beta_vae_collapses_more_dimensions_than_the_plain_vae(embedded):
    skip_without("vae_20")
    skip_without("beta_vae_20")
    images, labels = embedded.float_images()[:KL_DIGITS], embedded.labels[:KL_DIGITS]
    counts = {name: len(unused_dimensions(per_dimension_kl(
        load_checkpoint(SHIPPED / f"{name}.safetensors").model, images, labels)))
        for name in ("vae_20", "beta_vae_20")}
    assert counts["beta_vae_20"] > counts["vae_20"]


def test_deterministic_model_has_no_kl_chart_and_no_codebook(monkeypatch):
    at = open_page(SLIDERS, monkeypatch, "ae_32")
    keys = chart_keys(at)
    assert "sliders_kl_chart" not in keys and "sliders_vq_grid" not in keys
    assert not any(image.captions and image.captions[0].startswith("The same code drawn")
                   for image in at.get("image"))


# Conditional VAE -------------------------------------------------------------------------------


def test_cvae_draws_the_code_as_every_class_and_follows_the_sliders(monkeypatch):
    skip_without("cvae_2")
    at = open_page(SLIDERS, monkeypatch, "cvae_2")
    before = image_url(at, "The same code drawn as every class")
    assert "sliders_kl_chart" in chart_keys(at)  # a cvae is variational too
    slider = at.slider[0]
    target = slider.max if slider.value < (slider.min + slider.max) / 2 else slider.min
    slider.set_value(target).run()
    assert not at.exception, at.exception
    assert image_url(at, "The same code drawn as every class") != before


# Adversarial AE on the latent map --------------------------------------------------------------


def test_aae_latent_map_draws_its_prior_under_the_codes(monkeypatch, tmp_path, digits):
    from ae_core.checkpoint import save_checkpoint
    from ae_core.config import ModelConfig, TrainConfig
    from ae_core.models import REGISTRY
    from ae_core.train import fit

    torch.manual_seed(0)
    config = ModelConfig(family="aae", latent_dim=2, hidden_sizes=(32,), prior="mixture")
    model = fit(REGISTRY["aae"](config), digits, None, TrainConfig(epochs=1, batch_size=50)).model
    save_checkpoint(tmp_path / "aae_2.safetensors", model, info={"dataset": "mnist-embedded"})
    monkeypatch.setattr(state, "CHECKPOINT_DIR", tmp_path)
    monkeypatch.setenv("LATENT_LAB_CHECKPOINTS", str(tmp_path))
    at = AppTest.from_file(APP, default_timeout=180)
    at.session_state[state.ACTIVE_MODEL] = "shipped: aae_2"
    at.run()
    at.switch_page("app_pages/latent_map.py").run()
    assert not at.exception, at.exception
    traces = chart_spec(at, "latent_map_chart")["data"]
    assert traces[0]["name"] == "prior (mixture)"  # first: drawn under the codes
    assert "customdata" not in traces[0]  # never picked by a selection
    assert all("customdata" in trace for trace in traces[1:])
    assert any("prior" in caption.value for caption in at.caption)
