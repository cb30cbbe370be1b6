"""ae_core.drawing: real MNIST digits drawn large, shifted, inverted or re-coloured come back
close to themselves; blanks, dots, scribbles and bad files give a one-line DrawingError."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
import torch
from PIL import Image
from scipy import ndimage

from ae_core.drawing import (
    MAX_FILE_BYTES,
    DrawingError,
    digit_from_canvas,
    digit_from_file,
    ink_from_brightness,
    to_mnist,
)


@pytest.fixture(scope="module")
def digit(embedded) -> np.ndarray:
    """A real MNIST 3, (28, 28) floats in [0, 1]."""
    index = int(torch.nonzero(embedded.labels == 3)[0, 0])
    return embedded.float_images()[index, 0].numpy()


def large(digit: np.ndarray, scale: int = 10, shift: tuple[int, int] = (0, 0),
          side: int = 400) -> np.ndarray:
    """The digit drawn `scale` times larger on a bigger, shifted sheet: (side, side) ink."""
    big = np.asarray(Image.fromarray(digit, mode="F").resize((28 * scale, 28 * scale),
                                                             Image.Resampling.BILINEAR))
    sheet = np.zeros((side, side), dtype=np.float32)
    top, left = 40 + shift[0], 30 + shift[1]
    sheet[top:top + 28 * scale, left:left + 28 * scale] = big
    return np.clip(sheet, 0, 1)


def png(array: np.ndarray, mode: str = "L") -> bytes:
    buffer = io.BytesIO()
    Image.fromarray((np.clip(array, 0, 1) * 255).round().astype(np.uint8)).convert(mode).save(
        buffer, format="PNG")
    return buffer.getvalue()


def close_to(result: torch.Tensor, digit: np.ndarray) -> None:
    assert result.shape == (1, 28, 28)
    assert 0.0 <= float(result.min()) and float(result.max()) <= 1.0
    error = float(((result[0].numpy() - digit) ** 2).mean())
    assert error < 0.02, error  # a digit against another 3 is around 0.1


def test_an_mnist_digit_drawn_large_and_shifted_comes_back(digit):
    result = to_mnist(large(digit, scale=10, shift=(25, 60)) * 0.6)  # faint ink too
    close_to(result, digit)
    row, column = ndimage.center_of_mass(result[0].numpy())
    assert abs(row - 14) < 0.6 and abs(column - 14) < 0.6
    rows = np.flatnonzero(result[0].numpy().max(axis=1) > 0.2)
    assert rows[-1] - rows[0] + 1 <= 20  # fitted into the 20x20 box


def test_an_mnist_digit_is_its_own_fixed_point(digit):
    close_to(to_mnist(digit), digit)


@pytest.mark.parametrize("mode", ["L", "RGB", "P", "I;16", "RGBA"])
def test_files_in_any_mode_dark_on_light_or_light_on_dark(digit, mode):
    sheet = large(digit, scale=6, side=300)
    close_to(digit_from_file(png(sheet, mode)), digit)  # light on dark, as MNIST
    close_to(digit_from_file(png(1 - sheet, mode)), digit)  # dark ink on paper


def test_a_jpeg_photo_of_paper(digit):
    rng = np.random.default_rng(0)
    paper = 0.85 - 0.7 * large(digit, scale=8, side=320) + rng.normal(0, 0.02, (320, 320))
    buffer = io.BytesIO()
    Image.fromarray((np.clip(paper, 0, 1) * 255).astype(np.uint8)).convert("RGB").save(
        buffer, format="JPEG", quality=80)
    close_to(digit_from_file(buffer.getvalue()), digit)


def test_a_digit_on_a_transparent_layer(digit):
    sheet = large(digit, scale=5, side=200)
    rgba = np.zeros((200, 200, 4), dtype=np.uint8)  # black strokes, opacity = ink
    rgba[..., 3] = (sheet * 255).round().astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(rgba, mode="RGBA").save(buffer, format="PNG")
    close_to(digit_from_file(buffer.getvalue()), digit)
    data_url = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()
    close_to(digit_from_canvas(data_url), digit)


def test_a_vertical_stroke_is_a_thin_centred_one():
    sheet = np.zeros((280, 280), dtype=np.float32)
    sheet[40:240, 130:150] = 1.0
    result = to_mnist(sheet)[0].numpy()
    columns = np.flatnonzero(result.max(axis=0) > 0.2)
    rows = np.flatnonzero(result.max(axis=1) > 0.2)
    assert len(rows) == 20 and len(columns) <= 3
    assert abs(ndimage.center_of_mass(result)[1] - 14) < 0.6


def test_a_scribble_over_everything_fills_the_box():
    rng = np.random.default_rng(1)
    scribble = (rng.random((280, 280)) > 0.3).astype(np.float32)
    result = to_mnist(scribble)[0].numpy()
    assert (result[4:24, 4:24] > 0.3).mean() > 0.9 and result.sum() > 200
    url = "data:image/png;base64," + base64.b64encode(png(scribble, "LA")).decode()
    assert digit_from_canvas(url).shape == (1, 28, 28)


@pytest.mark.parametrize(("make", "message"), [
    (lambda: to_mnist(np.zeros((280, 280))), "no ink"),
    (lambda: to_mnist(np.pad(np.ones((6, 6)), 137)), "only a dot"),
    (lambda: digit_from_file(png(np.full((50, 50), 0.9))), "blank"),
    (lambda: digit_from_file(b"definitely not a picture"), "PNG or JPEG"),
    (lambda: digit_from_file(png(np.eye(40))[:60]), "damaged"),
    (lambda: digit_from_file(b""), "empty"),
    (lambda: digit_from_file(b"\x89PNG" + bytes(MAX_FILE_BYTES)), "limit"),
    (lambda: digit_from_canvas(""), "no drawing"),
    (lambda: digit_from_canvas("data:image/png;base64,!!!"), "again"),
])
def test_bad_input_is_one_line(make, message):
    with pytest.raises(DrawingError, match=message) as raised:
        make()
    assert "\n" not in str(raised.value)


def test_other_formats_and_huge_pictures_are_refused():
    buffer = io.BytesIO()
    Image.new("L", (30, 30)).save(buffer, format="GIF")
    with pytest.raises(DrawingError, match="GIF"):
        digit_from_file(buffer.getvalue())
    buffer = io.BytesIO()
    Image.new("1", (6000, 6000)).save(buffer, format="PNG")  # small file, 36 megapixels
    with pytest.raises(DrawingError, match="megapixels"):
        digit_from_file(buffer.getvalue())


def test_the_border_decides_the_background():
    sheet = np.zeros((100, 100), dtype=np.float32)
    sheet[30:70, 45:55] = 1.0
    assert ink_from_brightness(sheet)[50, 50] == 1.0
    assert ink_from_brightness(1 - sheet)[50, 50] == 1.0
    assert ink_from_brightness(1 - sheet)[5, 5] == 0.0
