"""`python -m ae_core attributes CKPT` and `python -m ae_core traverse CKPT --attribute NAME`:
the attribute directions of a model (ae_core.attributes) from the command line.

`attributes` prints each measurement's direction with its R², and per code dimension how much
it alone tells about each measurement (correlation) and about the class (mutual information as
a share of the class's entropy), with the MIG of every factor (ae_core.disentanglement);
`--csv` writes the per-dimension table. `traverse` decodes one image's code moved along a
direction from -2 to +2 standard deviations: a (steps, 28, 28) NumPy array, or a PNG strip.
"""

from __future__ import annotations

import argparse
import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ae_core.attributes import (
    AttributeDirection,
    dimension_correlations,
    fit_directions,
    measure_dataset,
)
from ae_core.checkpoint import Checkpoint, load_checkpoint
from ae_core.data import EMBEDDED, Dataset, load_dataset
from ae_core.disentanglement import Disentanglement, measure_disentanglement
from ae_core.latent import decode_codes, encode_dataset
from ae_core.morphometry import MEASUREMENTS

TRAVERSE_SDS = 2.0  # a traversal runs from -2 to +2 standard deviations


@dataclass
class AttributeStudy:
    """One model's codes of a dataset, the images' measurements and what links them."""

    checkpoint: Checkpoint
    dataset: Dataset
    codes: np.ndarray  # (N, D)
    measurements: np.ndarray  # (N, 6)
    directions: dict[str, AttributeDirection]
    correlations: np.ndarray  # (D, 6)
    disentanglement: Disentanglement


def study(checkpoint: Checkpoint, dataset: Dataset) -> AttributeStudy:
    """Encode `dataset`, measure its images (stored for the embedded digits), fit directions."""
    codes = encode_dataset(checkpoint.model, dataset.float_images(), dataset.labels).codes
    codes = codes.numpy().astype(float)
    values = measure_dataset(dataset)
    return AttributeStudy(checkpoint, dataset, codes, values, fit_directions(codes, values),
                          dimension_correlations(codes, values),
                          measure_disentanglement(codes, values, dataset.labels.numpy()))


def _images(source: str) -> Dataset:
    return load_dataset(source, "train" if source == EMBEDDED else "test")


def per_dimension_rows(result: AttributeStudy) -> list[dict[str, float | int]]:
    """One row per code dimension: its correlation with each measurement, and the share of
    each factor's entropy it alone carries (the class's included)."""
    share = result.disentanglement.normalised
    rows = []
    for dimension in range(result.codes.shape[1]):
        row: dict[str, float | int] = {"dimension": dimension}
        row.update({f"corr_{name}": float(result.correlations[dimension, column])
                    for column, name in enumerate(MEASUREMENTS)})
        row.update({f"mi_{name}": float(share[dimension, column])
                    for column, name in enumerate(result.disentanglement.factors)})
        rows.append(row)
    return rows


def command_attributes(args: argparse.Namespace) -> int:
    checkpoint = load_checkpoint(args.checkpoint)
    result = study(checkpoint, _images(args.dataset))
    latent_dim = result.codes.shape[1]
    print(f"{Path(args.checkpoint).name} ({checkpoint.model_config.family}, latent "
          f"{latent_dim}) on {result.dataset.name}, {len(result.dataset):,} images")
    print("\nDirections: R² of a ridge regression from the whole code | R² from the position "
          "along the attribute vector (the codes' covariance with it), the slider's direction; "
          "both on a held-out fifth")
    for name, direction in result.directions.items():
        print(f"  {name:10s} R² {direction.r2:5.2f} | along {direction.r2_along:5.2f}   "
              f"+1 SD along it fits {direction.slope:+.3g} {direction.unit} (the images' SD: "
              f"{direction.value_sd:.3g} {direction.unit})")
    factors = result.disentanglement.factors
    print("\nPer dimension: correlation with each measurement | share of each factor's "
          "entropy it alone carries (mutual information)")
    header = " ".join(f"{name[:6]:>7s}" for name in MEASUREMENTS)
    print(f"  {'dim':>4s} {header} | " + " ".join(f"{name[:6]:>7s}" for name in factors))
    for row in per_dimension_rows(result):
        left = " ".join(f"{row[f'corr_{name}']:7.2f}" for name in MEASUREMENTS)
        right = " ".join(f"{row[f'mi_{name}']:7.2f}" for name in factors)
        print(f"  {row['dimension']:4d} {left} | {right}")
    gaps = result.disentanglement.gaps
    best = result.disentanglement.best
    print("\nMIG (gap between the two most informative dimensions / the factor's entropy):")
    print("  " + ", ".join(f"{name} {gap:.3f} (z[{dim}])"
                           for name, gap, dim in zip(factors, gaps, best, strict=True)))
    print(f"  mean {result.disentanglement.mig:.3f}")
    if args.csv:
        out = Path(args.csv)
        out.parent.mkdir(parents=True, exist_ok=True)
        rows = per_dimension_rows(result)
        with out.open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        print(f"\nwrote {out} ({len(rows)} dimensions)")
    return 0


def traversal(checkpoint: Checkpoint, dataset: Dataset, attribute: str, steps: int,
              index: int, result: AttributeStudy | None = None) -> torch.Tensor:
    """(steps, 1, 28, 28): image `index`'s code moved from -2 to +2 SD along `attribute`."""
    if attribute not in MEASUREMENTS:
        raise ValueError(f"--attribute {attribute!r} is not one of {', '.join(MEASUREMENTS)}")
    if steps < 2:
        raise ValueError(f"--steps {steps} must be at least 2")
    if not 0 <= index < len(dataset):
        raise ValueError(f"--digit {index} is outside 0..{len(dataset) - 1}")
    result = result or study(checkpoint, dataset)
    direction = result.directions[attribute]
    start = torch.as_tensor(result.codes[index], dtype=torch.float32)
    sds = torch.linspace(-TRAVERSE_SDS, TRAVERSE_SDS, steps)
    codes = direction.step(start.expand(steps, -1), sds)
    model = checkpoint.model.eval()
    labels = dataset.labels[index].repeat(steps) if model.is_conditional else None
    return decode_codes(model, codes, labels)


def command_traverse(args: argparse.Namespace) -> int:
    out = Path(args.out)
    if out.suffix.lower() not in (".npy", ".png"):
        raise ValueError(f"--out {out} must end in .npy or .png")
    checkpoint = load_checkpoint(args.checkpoint)
    images = traversal(checkpoint, _images(args.dataset), args.attribute, args.steps,
                       args.digit)
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() == ".png":
        from ae_core.figures import grid_png

        out.write_bytes(grid_png(images, columns=len(images), scale=args.scale))
    else:
        np.save(out, images[:, 0].numpy())
    print(f"wrote {out} ({len(images)} images along {args.attribute}, -{TRAVERSE_SDS:g} to "
          f"+{TRAVERSE_SDS:g} SD, from image {args.digit})")
    return 0


def add_attribute_commands(commands) -> None:
    """The two subcommands, added to the CLI's subparsers."""
    attributes = commands.add_parser(
        "attributes", help="each stroke measurement's direction in code space with its R², "
                           "and per dimension what it alone tells (MIG)")
    attributes.add_argument("checkpoint")
    attributes.add_argument("--dataset", default=EMBEDDED,
                            help=f"{EMBEDDED} (default: its 5,000 digits), mnist (its test "
                                 f"set) or a folder of idx files")
    attributes.add_argument("--csv", default=None, help="write the per-dimension table here")
    attributes.set_defaults(handler=command_attributes)

    traverse = commands.add_parser(
        "traverse", help="decode one image's code moved along an attribute direction, from "
                         "-2 to +2 standard deviations")
    traverse.add_argument("checkpoint")
    traverse.add_argument("--attribute", required=True, choices=MEASUREMENTS)
    traverse.add_argument("--steps", type=int, default=9)
    traverse.add_argument("--digit", type=int, default=0, help="index of the image to move")
    traverse.add_argument("--dataset", default=EMBEDDED,
                          help=f"{EMBEDDED} (default), mnist or a folder of idx files")
    traverse.add_argument("--scale", type=int, default=3, help="pixels per pixel of a PNG")
    traverse.add_argument("--out", required=True,
                          help="strip.npy (steps, 28, 28) floats in [0, 1], or strip.png")
    traverse.set_defaults(handler=command_traverse)
