"""The thickness slider with a mouse: the whole code moves along the thickness direction while
the hand drags, decoded in the browser, and the decodes grow measurably thicker."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ae_core.attributes import fit_directions, measure_dataset
from ae_core.checkpoint import load_checkpoint
from ae_core.data import load_embedded
from ae_core.latent import encode_dataset
from ae_core.morphometry import MEASUREMENTS, measure
from tests.browser.conftest import PROJECT_ROOT, drag_across, live_view, open_with_model

pytestmark = pytest.mark.browser


def thickness_step() -> np.ndarray:
    """vae_20's 1-SD step along its thickness direction, as the page computes it."""
    digits = load_embedded()
    model = load_checkpoint(PROJECT_ROOT / "checkpoints" / "vae_20.safetensors").model.eval()
    codes = encode_dataset(model, digits.float_images(), digits.labels).codes.numpy()
    direction = fit_directions(codes, measure_dataset(digits))["thickness"]
    return direction.direction * direction.code_sd


def test_dragging_the_thickness_slider_moves_the_code_along_its_direction(page, app_url):
    open_with_model(page, app_url, "shipped: vae_20", "Bottleneck sliders", "Bottleneck sliders")
    view = live_view(page, "sliders_live")
    start = np.array(view.evaluate("root => root.lastCode"))
    start_image = torch.tensor(view.evaluate("root => root.lastImage"))
    frames = view.evaluate("root => root.frames")
    thickness = view.locator("input[data-attribute='thickness']")
    assert thickness.input_value() == "0"
    drag_across(page, thickness)
    held = view.evaluate("root => root.frames")
    page.mouse.up()
    assert held - frames >= 10, (frames, held)  # the digit followed the hand
    assert float(thickness.input_value()) == pytest.approx(3.0)  # the right end: +3 SD
    expected = (start + 3.0 * thickness_step()).tolist()
    # The last decode drawn is of the code the hand left: the start moved 3 SD along the line.
    page.wait_for_function(
        """([root, expected]) => root.lastCode.length === expected.length &&
               root.lastCode.every((value, i) => Math.abs(value - expected[i]) < 1e-3)""",
        arg=[view.element_handle(), expected], timeout=30_000)
    end_image = torch.tensor(view.evaluate("root => root.lastImage"))
    column = MEASUREMENTS.index("thickness")
    before, after = measure(torch.stack([start_image, end_image]).reshape(2, 28, 28))[:, column]
    assert after > before  # +3 SD along thickness: a thicker stroke, measured


def test_the_code_plane_draws_a_vaes_spread(page, app_url):
    open_with_model(page, app_url, "shipped: vae_2", "Bottleneck sliders", "Bottleneck sliders")
    view = live_view(page, "sliders_plane")
    plane = view.locator("canvas.ll-plane")
    plane.scroll_into_view_if_needed()
    # The encoder's mean ± spread is drawn in orange; nothing else on the plane is orange.
    page.wait_for_function(
        """canvas => {
            const pixels = canvas.getContext("2d").getImageData(
                0, 0, canvas.width, canvas.height).data;
            let orange = 0;
            for (let i = 0; i < pixels.length; i += 4) {
                if (pixels[i] > 200 && pixels[i + 1] > 100 && pixels[i + 1] < 190 &&
                    pixels[i + 2] < 90) orange += 1;
            }
            return orange > 20;
        }""", arg=plane.element_handle(), timeout=30_000)
