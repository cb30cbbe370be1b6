"""A hand-drawn or uploaded digit brought to MNIST's form, the way the dataset was made.

LeCun et al. (1998) fitted each NIST digit into a 20x20 box keeping its aspect ratio (with
antialiasing, hence the grey levels), then placed it in a 28x28 field so that its centre of
mass sits at the centre. `to_mnist` does the same to any ink picture:

    ink (H, W) -> crop to the ink -> fit into 20x20, aspect kept, antialiased
        -> centre of mass at (14, 14) of 28x28 -> (1, 28, 28) floats in [0, 1]

The embedded MNIST digits have their centre of mass at (14.0, 14.0) in array indices (row,
column), so that is the target here too. Pure functions: numpy / PIL in, tensors out.
"""

from __future__ import annotations

import base64
import binascii

import numpy as np
import torch
from PIL import Image
from scipy import ndimage

from ae_core import guard
from ae_core.guard import GuardError

MNIST_SIDE = 28
BOX_SIDE = 20  # the digit's longer side after fitting, as in MNIST
CENTRE = 14.0  # where the centre of mass lands (row and column, array indices)
MAX_FILE_BYTES = 5 * 1024 * 1024  # an upload above this is refused before it is decoded
MAX_PIXELS = guard.MAX_PIXELS  # width x height, checked from the header before decoding
FORMATS = ("PNG", "JPEG", "MPO")  # MPO: a phone's multi-picture JPEG
INK_LEVEL = 0.2  # ink at or above this (of the strongest) counts for the crop
FAINT_LEVEL = 0.08  # below this, paper grain or JPEG noise: set to no ink
MIN_EXTENT = 0.06  # ink spanning less than this share of the picture's side is a dot
BORDER_SHARE = 0.04  # the outer band whose brightness says which side is the background


class DrawingError(ValueError):
    """A one-line reason why a picture cannot become a digit (shown to the user as is)."""


def to_mnist(ink: np.ndarray) -> torch.Tensor:
    """(H, W) ink in [0, 1] (1 = ink, 0 = background) -> (1, 28, 28) floats in [0, 1].

    The ink is re-normalised so its strongest pixel is 1 (faint pencil counts as much as
    marker). Raises DrawingError when there is no ink, or only a dot of it.
    """
    ink = np.asarray(ink, dtype=np.float32)
    if ink.ndim != 2 or ink.size == 0 or not np.isfinite(ink).all():
        raise DrawingError(f"expected a 2-D picture of finite values, got shape {ink.shape}")
    ink = np.clip(ink, 0.0, 1.0)
    strongest = float(ink.max())
    if strongest <= FAINT_LEVEL:
        raise DrawingError("There is no ink: draw a digit (or upload a picture of one).")
    ink = ink / strongest
    ink[ink < FAINT_LEVEL] = 0.0
    rows = np.flatnonzero((ink >= INK_LEVEL).any(axis=1))
    columns = np.flatnonzero((ink >= INK_LEVEL).any(axis=0))
    height, width = rows[-1] - rows[0] + 1, columns[-1] - columns[0] + 1
    if max(height, width) < MIN_EXTENT * max(ink.shape):
        raise DrawingError("That is only a dot: draw the digit larger.")
    crop = ink[rows[0]:rows[-1] + 1, columns[0]:columns[-1] + 1]
    box = _fit(crop, BOX_SIDE)  # (h, w), max(h, w) == 20
    return torch.from_numpy(_centre(box, MNIST_SIDE)).unsqueeze(0)


def _fit(crop: np.ndarray, side: int) -> np.ndarray:
    """(h, w) -> longer side `side`, aspect kept: box-filtered (antialiased) when shrinking."""
    height, width = crop.shape
    scale = side / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))  # PIL: (w, h)
    method = Image.Resampling.BOX if scale < 1 else Image.Resampling.BILINEAR
    fitted = np.asarray(Image.fromarray(crop, mode="F").resize(size, method), dtype=np.float32)
    return np.clip(fitted / max(float(fitted.max()), 1e-6), 0.0, 1.0)


def _centre(box: np.ndarray, side: int) -> np.ndarray:
    """Paste `box` into a (side, side) field, its centre of mass as close to CENTRE as it can
    be by whole pixels while the box stays inside the field."""
    height, width = box.shape
    com_row, com_column = ndimage.center_of_mass(box)
    top = int(np.clip(round(CENTRE - com_row), 0, side - height))
    left = int(np.clip(round(CENTRE - com_column), 0, side - width))
    field = np.zeros((side, side), dtype=np.float32)
    field[top:top + height, left:left + width] = box
    return field


def open_image(data: bytes) -> Image.Image:
    """PNG or JPEG bytes -> a decoded PIL image (a phone's multi-picture JPEG: its first);
    DrawingError for anything else or too big (ae_core.guard checks the header first)."""
    try:
        return guard.open_image(data, "The picture", MAX_FILE_BYTES, MAX_PIXELS,
                                formats=FORMATS)
    except GuardError as error:
        raise DrawingError(str(error)) from None


def brightness(image: Image.Image) -> np.ndarray:
    """Any PIL image (any mode, 8 or 16 bits, palette, alpha) -> (H, W) brightness in [0, 1].

    Transparent pixels become a background that contrasts with the opaque ones: a digit drawn
    on a transparent layer shows, whatever its colour.
    """
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N", "F"):  # 16-bit or float grey
        values = np.asarray(image, dtype=np.float64)
        low, high = float(values.min()), float(values.max())
        return ((values - low) / (high - low) if high > low else values * 0).astype(np.float32)
    has_alpha = image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
        image.mode == "P" and "transparency" in image.info) or (
        image.mode in ("L", "RGB") and "transparency" in image.info)
    if not has_alpha:
        return np.asarray(image.convert("L"), dtype=np.float32) / 255.0
    rgba = np.asarray(image.convert("RGBA"), dtype=np.float32) / 255.0
    grey = np.asarray(image.convert("RGBA").convert("L"), dtype=np.float32) / 255.0
    alpha = rgba[..., 3]
    opaque = alpha > 0.5
    ink_is_dark = float(grey[opaque].mean()) < 0.5 if opaque.any() else True
    background = 1.0 if ink_is_dark else 0.0
    return grey * alpha + background * (1.0 - alpha)


def ink_from_brightness(grey: np.ndarray) -> np.ndarray:
    """(H, W) brightness -> (H, W) ink in [0, 1], the background at 0.

    Which side is ink is decided by the border: a picture's outer band is background. A light
    border (paper) means dark ink on light; a dark border (MNIST, a blackboard) means light ink
    on dark. The border's median level becomes 0 and the strongest ink 1.
    """
    grey = np.asarray(grey, dtype=np.float32)
    band = max(1, round(BORDER_SHARE * min(grey.shape)))
    border = np.concatenate([grey[:band].ravel(), grey[-band:].ravel(),
                             grey[:, :band].ravel(), grey[:, -band:].ravel()])
    level = float(np.median(border))
    ink = (1.0 - grey) if level > 0.5 else grey
    background = (1.0 - level) if level > 0.5 else level
    strongest = float(ink.max())
    if strongest - background <= FAINT_LEVEL:
        raise DrawingError("The picture is blank: no digit stands out from its background.")
    return np.clip((ink - background) / (strongest - background), 0.0, 1.0)


def digit_from_file(data: bytes) -> torch.Tensor:
    """PNG or JPEG bytes of a digit (any colour mode or size, light or dark ink) ->
    (1, 28, 28) floats in [0, 1], or DrawingError with the reason in one line. One picture
    is worked on at a time: its decoded copies never pile up beside another visitor's."""
    with guard.one_at_a_time():
        return to_mnist(ink_from_brightness(brightness(open_image(data))))


def digit_from_canvas(data_url: str) -> torch.Tensor:
    """A canvas's PNG data URL (light strokes, transparent or dark ground) -> (1, 28, 28).

    The canvas's polarity is known, so no border rule: a scribble over the whole canvas stays
    ink, not background.
    """
    prefix = "data:image/png;base64,"
    if not data_url or not data_url.startswith(prefix):
        raise DrawingError("There is no drawing yet: draw a digit.")
    try:
        data = base64.b64decode(data_url[len(prefix):], validate=True)
    except (binascii.Error, ValueError):
        raise DrawingError("The drawing did not arrive whole: draw it again.") from None
    with guard.one_at_a_time():
        return _canvas_digit(open_image(data))


def _canvas_digit(image: Image.Image) -> torch.Tensor:
    if "A" in image.mode:  # strokes on a transparent canvas: the opacity is the ink
        return to_mnist(np.asarray(image.getchannel("A"), dtype=np.float32) / 255.0)
    return to_mnist(brightness(image))
