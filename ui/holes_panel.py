"""AE vs VAE, a second test (ae_core.smoothness.random_code_report): beside the midpoints,
codes drawn at random from the box the real codes occupy, and from a model's prior where it has
one, judged by the same pixel probe."""

from __future__ import annotations

import streamlit as st

from ae_core.figures import grid_png
from ae_core.smoothness import CONFIDENT, RANDOM_CODES, ImageProbe, random_code_report
from ui.models import ActiveModel, model_cache, model_name
from ui.sources import encoded, say, source_kind

SHOWN = 12  # decoded random codes drawn per model and region


@model_cache(st.cache_data, show_spinner="Decoding random codes…", max_entries=32)
def _random_codes(model_key: str, source: str, region: str, _model: ActiveModel,
                  _probe: ImageProbe) -> tuple[float, float, bytes]:
    """(share confident, mean confidence, PNG of the first decodes) for one region."""
    report = random_code_report(_model.checkpoint.model, encoded(_model, source).codes,
                                region, _probe)
    return (report.fraction, float(report.confidences.mean()),
            grid_png(report.midpoints[:SHOWN], columns=SHOWN, scale=2))


def random_codes_section(models: list[ActiveModel], source: str, probe: ImageProbe) -> None:
    """Per model: the share of random codes from the codes' box (and its prior) that the probe
    calls a digit confidently, with a row of them decoded."""
    st.subheader("A second test: codes drawn at random")
    st.markdown(say(
        f"Midpoints stay between real codes. Here {RANDOM_CODES} codes are drawn uniformly "
        f"from the **box** the real codes occupy (each dimension between its 0.5th and 99.5th "
        f"percentile) and, for a model with a prior, from the **prior**; the same judge says "
        f"how many decode to something it calls a digit with probability ≥ {CONFIDENT:.0%}. "
        f"A box is mostly empty corners when the codes fill a thin, curved region, so a model "
        f"whose codes fill their box scores higher.", source_kind(source)))
    rows = []
    for model in models:
        name = model_name(model.label)
        regions = ["box", "prior"] if model.checkpoint.model.has_prior else ["box"]
        for region in regions:
            fraction, confidence, png = _random_codes(model.key, source, region, model, probe)
            rows.append({"model": name, "drawn from": region,
                         "confident": f"{fraction:.0%}", "mean probability": round(confidence, 2)})
            st.image(png, output_format="PNG",
                     caption=say(f"{name}, random codes from its {region}: {fraction:.0%} "
                                 f"confidently a digit", source_kind(source)))
    st.dataframe(rows, hide_index=True)
