"""Small live pictures of what each page of Latent Lab does, made from one model (the home
page's cards). Each is PNG bytes from a few dozen digits: together well under a second.

`page_previews(model, digits, codes, errors, map_coords, history)` returns {card name: PNG};
the names are those of `PREVIEWS`. Every picture comes from the same fixed digits, so a
model's cards are the same every visit.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np
import torch
from PIL import Image, ImageDraw

from ae_core.anomaly import top_scoring
from ae_core.figures import CLASS_COLOURS, grid_png
from ae_core.latent import code_ranges, decode_codes, interpolate, interpolate_pixels, traverse
from ae_core.models import Autoencoder
from ae_core.noise import corrupt
from ae_core.sampling import sample_digits
from ae_core.sweep import denoise

PREVIEWS = ("train", "sliders", "interpolate", "draw", "samples", "ae_vs_vae", "few_labels",
            "latent_map", "denoise", "anomaly", "bottleneck")
COLUMNS = 4  # every picture is 4 digits by 2 (or a chart of that size): cards line up
STRIP = 2 * COLUMNS  # digits in a picture
SCALE = 3  # pixels per digit pixel: 4 digits are 354 pixels wide
CHART_SIZE = ((30 * COLUMNS - 2) * SCALE, 58 * SCALE)  # the loss curve and the map
# Code numbers the sliders card sweeps to find the telling one, the widest-ranging first: a
# VQ-VAE's code of 49 x 32 numbers swept whole took 3 of the Home page's 6.8 CPU seconds
# (benchmarks/model_cost.py); every shipped model's code is shorter than this.
MAX_SWEPT = 512
PCA_FIT_DIGITS = 500  # the bottleneck card's PCA: plenty for a picture, an exact SVD in ~0.1 s


def _first_of(labels: torch.Tensor, label: int) -> int:
    found = torch.nonzero(labels == label)
    return int(found[0, 0]) if len(found) else 0


@torch.inference_mode()
def page_previews(model: Autoencoder, images: torch.Tensor, labels: torch.Tensor,
                  codes: torch.Tensor, errors: torch.Tensor, map_coords: np.ndarray,
                  history: Sequence[float] = ()) -> dict[str, bytes]:
    """One PNG per name in PREVIEWS.

    images (N, 1, 28, 28) in [0, 1], labels (N,), their codes (N, D) and errors (N,) under
    `model`, a 2-D map of those codes (N, 2), and the training loss per epoch (may be empty).
    """
    model.eval()
    pick = [_first_of(labels, digit) for digit in (3, 8, 2, 6, 0, 4, 7, 1)]
    chosen = torch.tensor(pick)
    first, second = pick[0], pick[1]
    label_of = labels[first]

    # Bottleneck sliders: the dimension whose sweep changes the digit most, across its range.
    low, high = code_ranges(codes)
    dimension = _most_telling_dimension(model, codes[first], label_of, low, high)
    swept = traverse(codes[first], dimension, torch.linspace(float(low[dimension]),
                                                             float(high[dimension]), STRIP))
    sliders = decode_codes(model, swept, label_of.repeat(STRIP))

    # Interpolation: one digit's code walking to another's.
    walk = interpolate(codes[first], codes[second], STRIP)
    interpolation = decode_codes(model, walk, label_of.repeat(STRIP))

    # Draw a digit: digits (top) and what the model reads in them (bottom).
    draw = torch.cat([images[chosen[:COLUMNS]],
                      decode_codes(model, codes[chosen[:COLUMNS]], labels[chosen[:COLUMNS]])])

    # Samples: new digits from the prior (or a Gaussian fitted to the codes).
    samples = sample_digits(model, STRIP, seed=0, codes=codes,
                            digit_class=7 if model.is_conditional else None).images

    # AE vs VAE: halfway between two different digits, by the code (top; a VAE keeps it a
    # digit) and by the pixels (bottom; always a double exposure).
    pairs = [(pick[i], pick[i + 1]) for i in range(0, STRIP, 2)]
    middles = torch.stack([interpolate(codes[a], codes[b], 3)[1] for a, b in pairs])
    halfway = decode_codes(model, middles, labels[[a for a, _ in pairs]])
    blends = torch.stack([interpolate_pixels(images[a], images[b], 3)[1] for a, b in pairs])

    # Denoising: noisy digits over the model's clean-up.
    clean = images[chosen[:COLUMNS]]
    noisy = corrupt(clean, "gaussian", 0.3, torch.Generator().manual_seed(0))
    cleaned = denoise(model, clean, noisy, labels[chosen[:COLUMNS]]).recon

    # Anomaly detection: the digits this model rebuilds worst.
    strangest = images[torch.as_tensor(top_scoring(errors.numpy(), STRIP).copy())]

    # Bottleneck effect: PCA with as many numbers as the code (top), against the model.
    pca_images = _pca_rebuild(images[:PCA_FIT_DIGITS], clean, codes.shape[1])

    grid = dict(columns=COLUMNS, scale=SCALE)
    return {
        "train": _loss_png(history) if len(history) >= 2 else grid_png(draw, **grid),
        "sliders": grid_png(sliders, **grid),
        "interpolate": grid_png(interpolation, **grid),
        "draw": grid_png(draw, **grid),
        "samples": grid_png(samples, **grid),
        "ae_vs_vae": grid_png(torch.cat([halfway, blends]), **grid),
        "few_labels": grid_png(images[chosen], **grid),  # a few labelled digits
        "latent_map": _map_png(map_coords, labels.numpy()),
        "denoise": grid_png(torch.cat([noisy, cleaned]), **grid),
        "anomaly": grid_png(strangest, **grid),
        "bottleneck": grid_png(torch.cat([pca_images, draw[COLUMNS:]]), **grid),
    }


def _most_telling_dimension(model: Autoencoder, code: torch.Tensor, label: torch.Tensor,
                            low: torch.Tensor, high: torch.Tensor) -> int:
    """The dimension of `code` (D,) whose move from `low` to `high` changes its decoded digit
    the most, among the MAX_SWEPT widest-ranging: 2 x min(D, MAX_SWEPT) decodes."""
    swept = torch.argsort(high - low, descending=True, stable=True)[:MAX_SWEPT]
    count = len(swept)
    ends = code.repeat(2 * count, 1)  # (2S, D): each swept one at its low end, then its high
    ends[torch.arange(count), swept] = low[swept].to(ends)
    ends[count + torch.arange(count), swept] = high[swept].to(ends)
    decoded = decode_codes(model, ends, label.repeat(2 * count)).flatten(1)
    return int(swept[(decoded[:count] - decoded[count:]).abs().sum(dim=1).argmax()])


def _pca_rebuild(train: torch.Tensor, images: torch.Tensor, components: int) -> torch.Tensor:
    """(B, 1, 28, 28) images rebuilt from the top `components` principal axes of (M, 1, 28,
    28) train images. An exact SVD of a few hundred digits: ae_core.metrics.fit_pca's
    randomised one took seconds on a busy machine, too slow for a front page."""
    rows = train.flatten(1).double()
    mean = rows.mean(dim=0)
    axes = torch.linalg.svd(rows - mean, full_matrices=False).Vh[:components]  # (K, 784)
    centred = images.flatten(1).double() - mean
    return (centred @ axes.T @ axes + mean).clamp(0, 1).float().view_as(images)


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def _hex(colour: str) -> tuple[int, int, int]:
    colour = colour.lstrip("#")
    return tuple(int(colour[i:i + 2], 16) for i in (0, 2, 4))


def _map_png(coords: np.ndarray, labels: np.ndarray, size: tuple[int, int] = CHART_SIZE
             ) -> bytes:
    """A thumbnail of a 2-D map: one 2-pixel dot per image, in its class colour."""
    width, height = size
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    coords = np.asarray(coords, dtype=np.float64)
    low, high = coords.min(axis=0), coords.max(axis=0)
    span = np.where(high - low > 0, high - low, 1.0)
    # Keep the map's aspect ratio, centred in the box.
    scale = min((width - 8) / span[0], (height - 8) / span[1])
    offset = (np.array([width, height]) - span * scale) / 2
    points = (coords - low) * scale + offset
    points[:, 1] = height - points[:, 1]
    palette = [_hex(colour) for colour in CLASS_COLOURS]
    for (x, y), label in zip(points, labels, strict=True):
        draw.rectangle([x - 1, y - 1, x, y], fill=palette[int(label) % len(palette)])
    return _png(image)


def _loss_png(history: Sequence[float], size: tuple[int, int] = CHART_SIZE) -> bytes:
    """The training loss per epoch as a small line (log scale, no axes)."""
    width, height = size
    values = np.log(np.clip(np.asarray(history, dtype=np.float64), 1e-12, None))
    values = values[np.isfinite(values)]
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    span = float(np.ptp(values)) or 1.0
    xs = np.linspace(8, width - 8, len(values))
    ys = 8 + (values.max() - values) / span * (height - 16)  # the highest loss at the top
    draw.line(list(zip(xs.tolist(), ys.tolist(), strict=True)), fill=_hex(CLASS_COLOURS[0]),
              width=3)
    return _png(image)
