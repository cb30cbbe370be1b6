"""A handwritten digit's stroke, measured: area, length, thickness, slant, width, height.

The definitions are Morpho-MNIST's (Castro, Tan, Kainz, Konukoglu & Glocker, "Morpho-MNIST:
Quantitative Assessment and Diagnostics for Representation Learning", JMLR 20(178), 2019,
section 3.1), implemented here with scikit-image:

- the image is upsampled 4x (cubic spline, then a Gaussian of sigma 4/3: scikit-image's
  `pyramid_expand`) and binarised at half its own range (min + (max - min) / 2);
- **area**: pixels of the binary stroke, in original pixels (px²);
- **length**: the length of its skeleton (`medial_axis`), each pair of 8-neighbours linked by
  1 (side) or √2 (diagonal), in px;
- **thickness**: twice the mean distance-to-background along the skeleton, in px;
- **slant**: the horizontal shear of the upsampled image's second moments, arctan(-μ11/μ02),
  here in degrees (positive: the top leans right; the paper stores radians);
- **width**, **height**: of the slant-corrected bounding box (the parallelogram sheared by the
  same shear through the centroid) that leaves out 1 % of the ink on each side, in px.

Vectorised over a batch: the upsampling is one matrix product per side, and the skeletons of a
whole chunk come from a single `medial_axis` call on the images stacked with a background
border between them (the transform is local, so the border keeps them apart). Ties in
`medial_axis` are broken by a seeded generator, so a measurement is repeatable.
"""

from __future__ import annotations

import functools

import numpy as np
import torch

MEASUREMENTS = ("area", "length", "thickness", "slant", "width", "height")
UNITS = {"area": "px²", "length": "px", "thickness": "px", "slant": "°", "width": "px",
         "height": "px"}
SCALE = 4  # upsampling factor before binarising (the paper's default)
THRESHOLD = 0.5  # share of each image's range where the stroke begins
BOUND_FRACTION = 0.02  # ink left outside the bounding box, half on each side
CHUNK = 500  # images per medial_axis call
# Pairs of 8-neighbours, each counted once: right, down-left, down, down-right.
_LINKS = ((0, 1, 1.0), (1, -1, np.sqrt(2.0)), (1, 0, 1.0), (1, 1, np.sqrt(2.0)))


@functools.cache
def _spline_matrix(side: int, scale: int) -> np.ndarray:
    """(side*scale, side) S with resize(img, order=3, clip=False) == S @ img @ S.T: a spline
    resize is separable and linear, so an image with one lit pixel per call finds S's columns."""
    from skimage.transform import resize

    centre = side // 2
    matrix = np.empty((side * scale, side))
    for column in range(side):
        image = np.zeros((side, side))
        image[column, centre] = 1.0
        out = resize(image, (side * scale, side * scale), order=3, mode="reflect",
                     anti_aliasing=False, clip=False)  # S[:, column] ⊗ S[:, centre]
        matrix[:, column] = out.sum(axis=1)
    # Each column so far is S[:, column] times sum(S[:, centre]), which is sqrt(that column's
    # own total).
    return matrix / np.sqrt(matrix[:, centre].sum())


@functools.cache
def _gaussian_matrix(size: int, sigma: float) -> np.ndarray:
    """(size, size) G with G @ x == scipy's gaussian_filter1d(x, sigma, mode="reflect")."""
    from scipy.ndimage import gaussian_filter1d

    return gaussian_filter1d(np.eye(size), sigma, axis=0, mode="reflect", truncate=4.0)


def _both_sides(rows: np.ndarray, images: np.ndarray, columns: np.ndarray) -> np.ndarray:
    """rows @ image @ columns.T for every image of (N, H, W), as two large matrix products."""
    count, height, _ = images.shape
    right = (images.reshape(-1, images.shape[2]) @ columns.T).reshape(count, height, -1)
    left = rows @ right.transpose(1, 0, 2).reshape(height, -1)  # (H', N * W')
    return np.ascontiguousarray(left.reshape(len(rows), count, -1).transpose(1, 0, 2))


def upsample(images: np.ndarray, scale: int = SCALE) -> np.ndarray:
    """(N, H, W) floats -> (N, H*scale, W*scale), as scikit-image's pyramid_expand(order=3)
    per image: spline resize, clipped to each image's own range, then a Gaussian of sigma
    scale/3."""
    sigma = 2 * scale / 6.0
    rows, columns = (_spline_matrix(size, scale) for size in images.shape[1:])
    resized = _both_sides(rows, images, columns)
    resized = np.clip(resized, images.min(axis=(1, 2), keepdims=True),
                      images.max(axis=(1, 2), keepdims=True))
    blur_rows, blur_columns = (_gaussian_matrix(size * scale, sigma)
                               for size in images.shape[1:])
    return _both_sides(blur_rows, resized, blur_columns)


def _skeletons(binary: np.ndarray, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(N, H, W) bool -> skeletons (N, H, W) bool and distances to background (N, H, W)."""
    from skimage.morphology import medial_axis

    count, height, width = binary.shape
    tiled = np.pad(binary, ((0, 0), (1, 1), (1, 1))).reshape(count * (height + 2), width + 2)
    skeleton, distance = medial_axis(tiled, return_distance=True, rng=seed)
    shape = (count, height + 2, width + 2)
    return (skeleton.reshape(shape)[:, 1:-1, 1:-1],
            distance.reshape(shape)[:, 1:-1, 1:-1])


def _skeleton_length(skeleton: np.ndarray) -> np.ndarray:
    """(N, H, W) bool -> (N,) summed lengths of the links between 8-neighbouring pixels."""
    padded = np.pad(skeleton, ((0, 0), (0, 1), (1, 1)))
    height, width = skeleton.shape[1:]
    length = np.zeros(len(skeleton))
    for down, right, weight in _LINKS:
        neighbour = padded[:, down:down + height, 1 + right:1 + right + width]
        length += weight * (skeleton & neighbour).sum(axis=(1, 2))
    return length


def _interp_rows(targets: np.ndarray, cdf: np.ndarray, locations: np.ndarray) -> np.ndarray:
    """Per row: where the increasing `cdf` (N, L) reaches each of `targets` (T,) -> (N, T)."""
    return np.stack([np.interp(targets, row, locations) for row in cdf])


def _moments(images: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(N, H, W) -> centroid rows (N,), horizontal shear μ11/μ02 (N,), ink mass (N,)."""
    rows = np.arange(images.shape[1], dtype=float)[None, :, None]
    cols = np.arange(images.shape[2], dtype=float)[None, None, :]
    mass = images.sum(axis=(1, 2))
    mean_x = (cols * images).sum(axis=(1, 2)) / mass
    mean_y = (rows * images).sum(axis=(1, 2)) / mass
    mu11 = (cols * rows * images).sum(axis=(1, 2)) / mass - mean_x * mean_y
    mu02 = (rows ** 2 * images).sum(axis=(1, 2)) / mass - mean_y ** 2
    return mean_y, mu11 / mu02, mass


def _box(images: np.ndarray, middle: np.ndarray, shear: np.ndarray,
         mass: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Width and height (N,) of the sheared box leaving BOUND_FRACTION of the ink outside, in
    upsampled pixels: the horizontal extent along lines of the image's own slant."""
    count, height, width = images.shape
    rows = np.arange(height, dtype=float)[None, :, None]
    cols = np.arange(width, dtype=float)[None, None, :]
    # Column t's share: the ink with x + 1/2 < t + shear (y - middle); a pixel counts from the
    # first integer t above its sheared position, floor(.) + 1.
    sheared = cols + 0.5 - shear[:, None, None] * (rows - middle[:, None, None])
    first = np.clip(np.floor(sheared).astype(np.int64) + 1, 0, width)
    bins = np.arange(count)[:, None, None] * (width + 1) + first
    histogram = np.bincount(bins.ravel(), weights=images.ravel(),
                            minlength=count * (width + 1)).reshape(count, width + 1)
    horizontal = np.cumsum(histogram, axis=1)[:, :width] / mass[:, None]
    vertical = np.cumsum(images.sum(axis=2), axis=1) / mass[:, None]
    vertical = np.concatenate([np.zeros((count, 1)), vertical[:, :-1]], axis=1)  # ink above t
    half = BOUND_FRACTION / 2
    targets = np.array([half, 1.0 - half])
    left_right = _interp_rows(targets, horizontal, np.arange(width, dtype=float))
    top_bottom = _interp_rows(targets, vertical, np.arange(height, dtype=float))
    return left_right[:, 1] - left_right[:, 0], top_bottom[:, 1] - top_bottom[:, 0]


def _as_array(images: np.ndarray | torch.Tensor) -> np.ndarray:
    """uint8 (0..255) or float (0..1) images of shape (N, 28, 28) or (N, 1, 28, 28) -> floats."""
    if isinstance(images, torch.Tensor):
        images = images.detach().cpu().numpy()
    images = np.asarray(images)
    if images.ndim == 4:
        images = images[:, 0]
    if images.ndim != 3:
        raise ValueError(f"images must be (N, H, W) or (N, 1, H, W), got {images.shape}")
    return images.astype(float) / 255.0 if images.dtype == np.uint8 else images.astype(float)


def _measure_chunk(images: np.ndarray, seed: int) -> np.ndarray:
    hires = upsample(images)
    low = hires.min(axis=(1, 2), keepdims=True)
    high = hires.max(axis=(1, 2), keepdims=True)
    binary = (hires >= low + (high - low) * THRESHOLD) & (high > low)
    skeleton, distance = _skeletons(binary, seed)
    points = skeleton.sum(axis=(1, 2))
    thickness = 2.0 * (distance * skeleton).sum(axis=(1, 2)) / np.maximum(points, 1) / SCALE
    middle, shear, mass = _moments(hires)
    ink = mass > 0
    width, height = _box(hires, np.where(ink, middle, 0.0), np.where(ink, shear, 0.0),
                         np.where(ink, mass, 1.0))
    return np.stack([binary.sum(axis=(1, 2)) / SCALE ** 2,
                     _skeleton_length(skeleton) / SCALE,
                     np.where(points > 0, thickness, np.nan),
                     np.where(ink, np.degrees(np.arctan(-shear)), np.nan),
                     np.where(ink, width / SCALE, np.nan),
                     np.where(ink, height / SCALE, np.nan)], axis=1)


def measure(images: np.ndarray | torch.Tensor, seed: int = 0) -> np.ndarray:
    """(N, 28, 28) uint8 or (N, [1,] 28, 28) floats in [0, 1] -> (N, 6) measurements, columns
    in MEASUREMENTS' order (area px², length px, thickness px, slant °, width px, height px).

    A blank image measures NaN where a quantity has no meaning (no stroke, no skeleton)."""
    pixels = _as_array(images)
    if len(pixels) == 0:
        return np.zeros((0, len(MEASUREMENTS)))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.concatenate([_measure_chunk(pixels[start:start + CHUNK], seed)
                               for start in range(0, len(pixels), CHUNK)])


def as_table(values: np.ndarray) -> dict[str, np.ndarray]:
    """(N, 6) measurements -> {name: (N,) values}."""
    return {name: values[:, column] for column, name in enumerate(MEASUREMENTS)}
