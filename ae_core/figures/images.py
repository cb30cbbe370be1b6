"""Images: the digits as pixels, image tensors to crisp PNGs, grids, strips and GIFs.

Part of ae_core.figures; plots of numbers are in ae_core/figures/charts.py."""

from __future__ import annotations

import io

import numpy as np
import torch
from PIL import Image


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """Floats in [0, 1] of any shape -> uint8 array of the same shape (callers reshape)."""
    return images.detach().float().cpu().clamp(0, 1).mul(255).round().to(torch.uint8).numpy()


def upscale(image: np.ndarray, scale: int) -> np.ndarray:
    """Nearest-neighbour upscaling, so a 28x28 digit stays sharp when shown large."""
    return np.kron(image, np.ones((scale, scale), dtype=image.dtype)) if scale > 1 else image


def image_png(image: torch.Tensor, scale: int = 8) -> bytes:
    """(1, 28, 28) or (28, 28) in [0, 1] -> PNG bytes, upscaled."""
    return _png(upscale(to_uint8(image).reshape(image.shape[-2:]), scale))


def grid_array(images: torch.Tensor, columns: int, padding: int = 2) -> np.ndarray:
    """(N, 1, H, W) -> one uint8 (rows*(H+p)-p, columns*(W+p)-p) array, mid-grey padding."""
    if len(images) == 0:
        raise ValueError("no images to draw in a grid")
    pixels = to_uint8(images).reshape(len(images), *images.shape[-2:])
    count, height, width = pixels.shape
    columns = max(1, min(columns, count))
    rows = (count + columns - 1) // columns
    canvas = np.full((rows * (height + padding) - padding, columns * (width + padding) - padding),
                     128, dtype=np.uint8)
    for index, image in enumerate(pixels):
        row, column = divmod(index, columns)
        top, left = row * (height + padding), column * (width + padding)
        canvas[top:top + height, left:left + width] = image
    return canvas


def grid_png(images: torch.Tensor, columns: int, scale: int = 3, padding: int = 2) -> bytes:
    """(N, 1, 28, 28) -> PNG bytes of the images in a grid."""
    return _png(upscale(grid_array(images, columns, padding), scale))


def strip_gif(images: torch.Tensor, scale: int = 6, frame_ms: int = 120,
              bounce: bool = True) -> bytes:
    """(N, 1, 28, 28) -> animated GIF bytes, playing forward then back when `bounce`."""
    frames = [upscale(frame, scale) for frame in to_uint8(images).reshape(len(images), 28, 28)]
    if bounce and len(frames) > 2:
        frames = frames + frames[-2:0:-1]
    pictures = [Image.fromarray(frame, mode="L") for frame in frames]
    buffer = io.BytesIO()
    pictures[0].save(buffer, format="GIF", save_all=True, append_images=pictures[1:],
                     duration=frame_ms, loop=0)
    return buffer.getvalue()


def _png(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array, mode="L").save(buffer, format="PNG")
    return buffer.getvalue()
