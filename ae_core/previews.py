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
from ae_core.latent import code_ranges, decode_codes, interpolate, traverse
from ae_core.metrics import fit_pca
from ae_core.models import Autoencoder
from ae_core.noise import corrupt
from ae_core.sampling import sample_digits
from ae_core.sweep import denoise

PREVIEWS = ("train", "sliders", "interpolate", "draw", "samples", "ae_vs_vae", "latent_map",
            "denoise", "anomaly", "bottleneck")
STRIP = 7  # digits in a one-row strip
SCALE = 2  # pixels per digit pixel: a 7-digit strip is 416 pixels wide
CHART_SIZE = (416, 128)  # the loss curve and the map thumbnail, as wide as a strip
PCA_FIT_DIGITS = 1000  # the bottleneck card's PCA: plenty for a picture, fitted in ~0.1 s


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
    pick = [_first_of(labels, digit) for digit in (3, 8, 2, 6, 0, 4, 7)]
    chosen = torch.tensor(pick)
    first, second = pick[0], pick[1]
    label_of = labels[first]

    # Bottleneck sliders: the code's busiest dimension swept across its range.
    dimension = int(codes.float().var(dim=0).argmax())
    low, high = code_ranges(codes)
    swept = traverse(codes[first], dimension, torch.linspace(float(low[dimension]),
                                                             float(high[dimension]), STRIP))
    sliders = decode_codes(model, swept, label_of.repeat(STRIP))

    # Interpolation: one digit's code walking to another's.
    walk = interpolate(codes[first], codes[second], STRIP)
    interpolation = decode_codes(model, walk, label_of.repeat(STRIP))

    # Draw a digit: a digit and what the model reads in it.
    reconstructions = decode_codes(model, codes[chosen[:3]], labels[chosen[:3]])
    draw = torch.stack([images[pick[0]], reconstructions[0], images[pick[2]],
                        reconstructions[2]])

    # Samples: new digits from the prior (or a Gaussian fitted to the codes).
    samples = sample_digits(model, STRIP, seed=0, codes=codes,
                            digit_class=7 if model.is_conditional else None).images

    # AE vs VAE: the halfway code between two different digits: a VAE keeps it a digit.
    middles = torch.stack([interpolate(codes[pick[i]], codes[pick[i + 1]], 3)[1]
                           for i in range(0, 6, 2)])
    halfway = decode_codes(model, middles, labels[chosen[[0, 2, 4]]])
    ends = torch.cat([torch.stack([images[pick[i]], halfway[i // 2], images[pick[i + 1]]])
                      for i in range(0, 6, 2)])

    # Denoising: noisy digits over the model's clean-up.
    clean = images[chosen[:4]]
    noisy = corrupt(clean, "gaussian", 0.3, torch.Generator().manual_seed(0))
    cleaned = denoise(model, clean, noisy, labels[chosen[:4]]).recon

    # Anomaly detection: the digits this model rebuilds worst.
    strangest = images[torch.as_tensor(top_scoring(errors.numpy(), STRIP).copy())]

    # Bottleneck effect: PCA with as many numbers as the code, against the model.
    width = codes.shape[1]
    pca = fit_pca(images[:PCA_FIT_DIGITS], width)
    rows = clean.flatten(1).double().numpy()
    pca_images = torch.from_numpy(pca.inverse_transform(pca.transform(rows))).float()
    pca_images = pca_images.clamp(0, 1).view(-1, 1, 28, 28)

    strip = dict(columns=STRIP, scale=SCALE)
    return {
        "train": _loss_png(history) if len(history) >= 2 else grid_png(
            torch.cat([images[chosen], decode_codes(model, codes[chosen], labels[chosen])]),
            **strip),
        "sliders": grid_png(sliders, **strip),
        "interpolate": grid_png(interpolation, **strip),
        "draw": grid_png(draw, columns=4, scale=SCALE),
        "samples": grid_png(samples, **strip),
        "ae_vs_vae": grid_png(ends[:6], columns=6, scale=SCALE),
        "latent_map": _map_png(map_coords, labels.numpy()),
        "denoise": grid_png(torch.cat([noisy, cleaned]), columns=4, scale=SCALE),
        "anomaly": grid_png(strangest, **strip),
        "bottleneck": grid_png(torch.cat([clean, pca_images, decode_codes(
            model, codes[chosen[:4]], labels[chosen[:4]])]), columns=4, scale=SCALE),
    }


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
