"""The AE vs VAE page's disentanglement section (ui/attribute_panel.py) under AppTest: a heat
map per model of ae_32, vae_20 and beta_vae_20, their MIG, and the tutorials' claim stated with
the numbers the section shows."""

from __future__ import annotations

import json

import pytest

from ae_core.attributes import measure_dataset
from ae_core.checkpoint import load_checkpoint
from ae_core.data import load_embedded
from ae_core.disentanglement import measure_disentanglement
from ae_core.latent import encode_dataset
from tests.pages import SHIPPED, needs_shipped, open_page
from ui.attribute_panel import DISENTANGLEMENT_MODELS, claim_sentence

pytestmark = needs_shipped(*DISENTANGLEMENT_MODELS)


def mig_of(name: str) -> float:
    digits = load_embedded()
    model = load_checkpoint(SHIPPED / f"{name}.safetensors").model.eval()
    codes = encode_dataset(model, digits.float_images(), digits.labels).codes.numpy()
    return measure_disentanglement(codes, measure_dataset(digits), digits.labels.numpy()).mig


def test_the_section_shows_each_models_heat_map_and_the_claim_measured(monkeypatch):
    at = open_page("app_pages/ae_vs_vae.py", SHIPPED, monkeypatch)
    assert not at.exception
    maps = [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]
    heat = [spec for spec in maps if spec["data"][0].get("type") == "heatmap"]
    assert [spec["layout"]["title"]["text"].split(" · ")[0] for spec in heat] == list(
        DISENTANGLEMENT_MODELS)
    assert heat[0]["data"][0]["x"][-1].startswith("class")
    table = next(frame.value for frame in at.dataframe if "MIG (mean)" in frame.value.columns)
    assert list(table["model"]) == list(DISENTANGLEMENT_MODELS)
    migs = {name: mig_of(name) for name in DISENTANGLEMENT_MODELS}
    assert list(table["MIG (mean)"]) == pytest.approx([round(migs[n], 3) for n in migs])
    claim = next(text.value for text in at.markdown if text.value.startswith("**The claim"))
    assert claim == claim_sentence(migs)
    assert f"{migs['beta_vae_20']:.3f}" in claim and f"{migs['vae_20']:.3f}" in claim


def test_the_claim_is_stated_whichever_way_the_numbers_fall():
    assert claim_sentence({"vae_20": 0.1, "beta_vae_20": 0.3}).startswith(
        "**The claim holds here:**")
    assert claim_sentence({"vae_20": 0.1, "beta_vae_20": 0.12}).startswith(
        "**The claim holds here, if only just:**")
    assert claim_sentence({"vae_20": 0.2, "beta_vae_20": 0.1}).startswith(
        "**The claim does not hold here:**")
