"""Stroke measurements (ae_core.morphometry) on images whose answer is known, on a digit whose
measurements Morpho-MNIST released, and against scikit-image's own upsampling."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ae_core.morphometry import MEASUREMENTS, as_table, measure, upsample

# Morpho-MNIST's released measurements of MNIST's first training image (its repository's
# tests/test_measure.py, from original/train-morpho.csv); slant converted to degrees. That
# digit is the embedded set's number 2500.
RELEASED = {"area": 107.3125, "length": 50.2665, "thickness": 2.4607,
            "slant": float(np.degrees(0.23107446620980754)), "width": 14.5396,
            "height": 19.8491}
FIRST_TRAINING_DIGIT = 2500


def bar(width: int, height: int, shear_degrees: float = 0.0, side: int = 28) -> np.ndarray:
    """A white upright bar `width` x `height` px centred in a black square, its rows shifted
    so the top leans right by `shear_degrees` (uint8)."""
    image = np.zeros((side, side), dtype=np.uint8)
    top = (side - height) // 2
    shift = np.tan(np.radians(shear_degrees))
    for row in range(top, top + height):
        offset = -shift * (row - (side - 1) / 2)  # rows above the middle move right
        left = (side - width) / 2 + offset
        columns = np.arange(side)
        # Anti-aliased edges: each pixel's share of [left, left + width).
        cover = np.clip(np.minimum(columns + 1, left + width) - np.maximum(columns, left), 0, 1)
        image[row] = np.round(255 * cover).astype(np.uint8)
    return image


def one(image: np.ndarray) -> dict[str, float]:
    return {name: float(values[0]) for name, values in as_table(measure(image[None])).items()}


def test_upsampling_is_scikit_images_pyramid_expand(digits):
    from skimage.transform import pyramid_expand

    images = digits.images[:20].numpy() / 255.0
    expected = np.stack([pyramid_expand(image, upscale=4, order=3) for image in images])
    np.testing.assert_allclose(upsample(images), expected, atol=1e-9)


@pytest.mark.parametrize("thickness", [2, 3, 4, 6])
def test_a_bar_measures_its_own_thickness(thickness):
    measured = one(bar(thickness, 18))
    assert measured["thickness"] == pytest.approx(thickness, rel=0.15)
    assert measured["area"] == pytest.approx(thickness * 18, rel=0.1)
    assert measured["slant"] == pytest.approx(0.0, abs=0.5)


def test_thicker_bars_measure_thicker():
    values = [one(bar(width, 18))["thickness"] for width in (1, 2, 3, 4, 5, 6, 7)]
    assert values == sorted(values) and values[-1] > 3 * values[0]


def test_a_bar_is_as_long_as_it_is_tall():
    # The skeleton of a 2-px bar runs its whole height, less the rounded ends.
    assert one(bar(2, 20))["length"] == pytest.approx(20, rel=0.1)
    assert one(bar(2, 10))["length"] == pytest.approx(10, rel=0.15)


@pytest.mark.parametrize("degrees", [-30, -15, 0, 10, 25])
def test_a_sheared_bar_measures_its_slant(degrees):
    assert one(bar(3, 18, degrees))["slant"] == pytest.approx(degrees, abs=1.5)


def test_a_box_measures_its_width_and_height():
    # 1 % of the ink is left out on each side, but of the upsampled image, whose Gaussian
    # spreads each edge a little outwards: a 12 x 16 box measures its size within half a pixel.
    measured = one(bar(12, 16))
    assert measured["width"] == pytest.approx(12, abs=0.5)
    assert measured["height"] == pytest.approx(16, abs=0.5)
    wide = one(bar(16, 8))
    assert wide["width"] > 1.5 * wide["height"]


def test_a_sheared_box_measures_its_upright_width():
    # The box follows the slant: shearing a 6 x 16 box leaves its width 6, not its full span.
    upright, sheared = one(bar(6, 16)), one(bar(6, 16, 25))
    assert sheared["width"] == pytest.approx(upright["width"], abs=0.5)
    assert sheared["height"] == pytest.approx(upright["height"], abs=0.5)


def test_the_first_training_digit_measures_as_morpho_mnist_released_it(embedded):
    measured = one(embedded.images[FIRST_TRAINING_DIGIT].numpy())
    for name in ("area", "thickness", "width", "height"):
        assert measured[name] == pytest.approx(RELEASED[name], rel=0.04), name
    assert measured["slant"] == pytest.approx(RELEASED["slant"], abs=0.5)
    # The skeleton's tie-breaking differs between scikit-image versions.
    assert measured["length"] == pytest.approx(RELEASED["length"], rel=0.1)


def test_batches_floats_and_tensors_measure_alike(digits):
    uint8 = digits.images[:30]
    as_uint8 = measure(uint8)
    np.testing.assert_allclose(measure(digits.float_images()[:30]), as_uint8, rtol=1e-6)
    one_by_one = np.concatenate([measure(image[None].numpy()) for image in uint8[:5]])
    # Only medial_axis's tie-breaking (seeded, over the whole batch) tells them apart.
    np.testing.assert_allclose(one_by_one, as_uint8[:5], rtol=0.03)
    same_skeleton = [0, 3, 4, 5]  # area, slant, width, height
    np.testing.assert_allclose(one_by_one[:, same_skeleton], as_uint8[:5, same_skeleton],
                               rtol=1e-6)
    np.testing.assert_array_equal(measure(uint8), as_uint8)  # the same batch: repeatable
    assert as_uint8.shape == (30, len(MEASUREMENTS)) and np.isfinite(as_uint8).all()


def test_a_blank_image_has_no_stroke():
    values = as_table(measure(torch.zeros(2, 1, 28, 28)))
    assert values["area"].tolist() == [0.0, 0.0] and np.isnan(values["thickness"]).all()


def test_digits_measure_in_mnists_range(digits):
    values = as_table(measure(digits.images))
    assert 1.5 < np.median(values["thickness"]) < 3.5
    assert 17 < np.median(values["height"]) < 21  # MNIST fits digits in a 20-px box
    ones = digits.labels.numpy() == 1
    assert np.median(values["width"][ones]) < np.median(values["width"][~ones]) / 2
