"""Your own model in a real browser: an encoder and a decoder exported with torch.onnx.export
from a plain PyTorch autoencoder (not from ae_core) are uploaded in the sidebar; the sliders
drag with the browser decoder running the pair's own decoder, the map draws its codes, and the
Bottleneck page's figure is the pair's own reconstruction error."""

from __future__ import annotations

import re

import pytest
import torch

from ae_core.data import EMBEDDED, evaluation_set
from ae_core.onnx_model import ONNX_FAMILY
from tests.browser.conftest import drag_across, go_to, live_view, wait_for_app
from tests.onnx_pair import LATENT, export_pair, train_plain_autoencoder

pytestmark = pytest.mark.browser

SIDEBAR = "[data-testid='stSidebar']"
UPLOAD = ".st-key-sidebar_onnx_upload_0 input[type='file'], " \
         ".st-key-sidebar_onnx_upload_1 input[type='file']"
CHART = "[data-testid='stPlotlyChart'] .js-plotly-plot"
# The y of the chart's trace named so (the Bottleneck page draws one line per family).
TRACE_Y = f"""name => {{
    const chart = document.querySelector("{CHART}");
    const trace = chart?._fullData?.find(trace => trace.name === name);
    return trace ? Array.from(trace.y) : null;
}}"""
MAP_POINTS = f"""() => {{
    const chart = document.querySelector("{CHART}");
    return (chart?._fullData || []).filter(trace => trace.name !== "selected")
        .reduce((count, trace) => count + (trace.x?.length || 0), 0);
}}"""


def test_an_uploaded_pair_drags_maps_and_scores_like_a_shipped_model(page, app_url, tmp_path):
    encoder, decoder = train_plain_autoencoder()
    encoder_path, decoder_path = export_pair(encoder, decoder, tmp_path)
    page.goto(app_url)
    wait_for_app(page, 60_000)
    sidebar = page.locator(SIDEBAR)

    junk = tmp_path / "not_a_model.onnx"
    junk.write_bytes(b"\x08\x07 this is not a graph")
    page.locator(UPLOAD).first.set_input_files([str(junk), str(decoder_path)])
    sidebar.get_by_text("was not loaded").wait_for(timeout=60_000)
    assert "latent size 32" in sidebar.inner_text()  # the model on show stays

    # One file, then the other: the first waits for its partner.
    page.locator(UPLOAD).first.set_input_files(str(encoder_path))
    sidebar.get_by_text("encoder.onnx is in: add the decoder .onnx too").wait_for()
    page.locator(UPLOAD).first.set_input_files(str(decoder_path))
    sidebar.get_by_text(ONNX_FAMILY).wait_for(timeout=60_000)
    wait_for_app(page, 60_000)
    assert f"latent size {LATENT}" in sidebar.inner_text()
    assert page.get_by_text("was not loaded").count() == 0

    # The sliders: the pair's own decoder runs in the browser while the hand moves.
    go_to(page, "Bottleneck sliders", "Bottleneck sliders")
    view = live_view(page, "sliders_live")
    page.get_by_text(f"0 of {LATENT} dimensions moved").wait_for()
    start_frames = view.evaluate("root => root.frames")
    first = view.locator("input[type='range'][data-dim]").first  # a z slider
    drag_across(page, first)
    held_frames = view.evaluate("root => root.frames")
    page.mouse.up()
    assert held_frames - start_frames >= 10, (start_frames, held_frames)
    page.get_by_text(re.compile(rf"^1 of {LATENT} dimensions moved")).wait_for()
    code = view.evaluate("root => root.lastCode")
    browser = torch.tensor(view.evaluate("root => root.lastImage"))
    with torch.inference_mode():
        expected = torch.sigmoid(decoder(torch.tensor([code]))).flatten()
    assert float((browser - expected).abs().max()) <= 1e-4

    # The map draws the codes of the 5,000 embedded digits.
    go_to(page, "Latent map", "Latent map")
    page.wait_for_selector(f"{CHART} canvas", timeout=60_000)
    page.wait_for_function(f"() => ({MAP_POINTS})() === 5000", timeout=60_000)

    # The Bottleneck page scores it on the held-out digits: the torch model's own error.
    held_out = evaluation_set(EMBEDDED).float_images()
    with torch.inference_mode():
        mse = float(((torch.sigmoid(decoder(encoder(held_out))) - held_out) ** 2).mean())
    go_to(page, "Bottleneck effect", "Bottleneck effect")
    page.wait_for_function(f"() => ({TRACE_Y})({ONNX_FAMILY!r}) !== null", timeout=120_000)
    assert page.evaluate(TRACE_Y, ONNX_FAMILY) == [pytest.approx(mse, rel=1e-4)]
