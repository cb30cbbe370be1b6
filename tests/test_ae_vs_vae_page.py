"""The AE vs VAE page under AppTest on the shipped checkpoints: both strips, both maps and both
confident-midpoint fractions, for the 2-D pair by default and for another pair on request."""

from __future__ import annotations

import json

from tests.pages import SHIPPED, open_page


def map_charts(at) -> list:
    """The two models' maps (the disentanglement heat maps further down are not maps)."""
    return [chart for chart in at.get("plotly_chart")
            if json.loads(chart.proto.spec)["data"][0].get("type") != "heatmap"]


def test_both_models_side_by_side(monkeypatch):
    at = open_page("app_pages/ae_vs_vae.py", SHIPPED, monkeypatch)
    assert at.selectbox(key="ae_vs_vae_left_model").value == "shipped: ae_2"
    assert at.selectbox(key="ae_vs_vae_right_model").value == "shipped: vae_2"
    assert [metric.label for metric in at.metric] == ["Confident midpoints · ae_2",
                                                      "Confident midpoints · vae_2"]
    assert all(metric.value.endswith("%") for metric in at.metric)
    strips = [image.value[0] for image in at.get("image")][:2]  # the random codes' follow
    assert len(strips) == 2 and strips[0] != strips[1]
    assert len(map_charts(at)) == 2

    at.number_input(key="ae_vs_vae_end_example").set_value(3).run()
    assert not at.exception
    assert [image.value[0] for image in at.get("image")][:2] != strips

    at.selectbox(key="ae_vs_vae_left_model").set_value("shipped: ae_32").run()
    at.selectbox(key="ae_vs_vae_right_model").set_value("shipped: vae_20").run()
    assert not at.exception, at.exception
    assert [metric.label for metric in at.metric] == ["Confident midpoints · ae_32",
                                                      "Confident midpoints · vae_20"]
