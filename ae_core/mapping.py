"""A latent map of a whole dataset, as the command line makes it: the images of a split (or of
both, 70,000 for MNIST or Fashion-MNIST), encoded in batches, projected to 2-D or 3-D, written
as a CSV table and a PNG scatter.

The same library steps as the Latent map page (`encode_dataset`, `project`, `subsample`,
`map_csv`, `latent_map_png`); this module only chooses the images and ties the steps together.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ae_core.data import EMBEDDED, DataError, Dataset, load_dataset, load_full
from ae_core.latent import EncodedSet, encode_dataset
from ae_core.models import Autoencoder
from ae_core.projection import METHOD_NAMES, METHODS, Projection, map_csv, project, subsample

MAP_SPLITS = ("train", "test", "all")
MAP_FORMATS = (".csv", ".png")


def map_images(source: str, split: str | None = None) -> Dataset:
    """The images to map: `split` of `source` (a name or a folder of idx files), "all" for
    both splits (training images first). Without a split: the test split, or the embedded
    digits' only one (their 5,000 training digits)."""
    if split is None:
        split = "train" if source == EMBEDDED else "test"
    if split not in MAP_SPLITS:
        raise DataError(f"split={split!r} is not one of {', '.join(MAP_SPLITS)}")
    if split == "all":
        # The embedded digits are one split: all of them are its training digits.
        return load_dataset(source, "train") if source == EMBEDDED else load_full(source)
    return load_dataset(source, split)


def check_outputs(paths: list[Path], dims: int = 2) -> None:
    """Refuse, before any work, an output that is neither .csv nor .png, or a 3-D PNG."""
    if not paths:
        raise ValueError("no output file: give --out map.csv and/or map.png")
    for path in paths:
        if path.suffix.lower() not in MAP_FORMATS:
            raise ValueError(f"--out {path} must end in {' or '.join(MAP_FORMATS)}")
        if path.suffix.lower() == ".png" and dims != 2:
            raise ValueError(f"--out {path}: the PNG is a 2-D scatter; a {dims}-D map is "
                             f"written as .csv only")
        if path.is_dir():
            raise ValueError(f"--out {path} is a folder")
        # The nearest folder that exists must take a new file: a read-only or mistyped place
        # fails now, not after minutes of encoding.
        existing = next(parent for parent in path.absolute().parents if parent.exists())
        if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
            raise ValueError(f"--out {path}: {existing} is not a folder that can be written")


@dataclass
class DatasetMap:
    """The codes of (some of) a dataset's images and their 2-D or 3-D projection."""

    dataset: str  # the dataset's name, e.g. "fashion-mnist-all"
    class_names: tuple[str, ...]
    indices: np.ndarray  # (N,) each mapped image's index in the dataset
    encoded: EncodedSet  # codes (N, D), errors (N,), labels (N,)
    projection: Projection  # coords (N, 2) or (N, 3)

    def __len__(self) -> int:
        return len(self.indices)

    def csv(self, with_codes: bool = False) -> bytes:
        """index, label, class, error, x, y[, z][, z0..z{D-1}]: one row per mapped image."""
        return map_csv(self.encoded.codes, self.projection.coords,
                       self.encoded.labels.numpy(), self.encoded.errors.numpy(),
                       indices=self.indices, class_names=self.class_names,
                       with_codes=with_codes)

    def png(self, title: str = "") -> bytes:
        """The 2-D map as a scatter coloured by class, with a legend."""
        from ae_core.figures import latent_map_png  # matplotlib loads here, only for a PNG

        if self.projection.coords.shape[1] != 2:
            raise ValueError("the PNG is a 2-D scatter; a 3-D map is written as .csv only")
        return latent_map_png(self.projection.coords, self.encoded.labels.numpy(),
                              self.encoded.errors.numpy(), self.class_names,
                              axis_titles=self.projection.axis_titles, title=title)


def map_dataset(model: Autoencoder, dataset: Dataset, method: str = "pca", dims: int = 2,
                points: int | None = None, seed: int = 0, batch_size: int = 1000,
                progress: Callable[[float], None] | None = None,
                announce: Callable[[str], None] | None = None) -> DatasetMap:
    """Encode `points` of `dataset`'s images (all when None; a seeded uniform sample else) in
    batches of `batch_size` from uint8, then project their codes with `method` to `dims` axes.

    `progress(fraction)` follows the encoding; `announce(message)` is told before each step
    (a UMAP or t-SNE of tens of thousands of codes takes minutes). Bad arguments fail before
    any image is encoded.
    """
    if method not in METHODS:
        raise ValueError(f"method={method!r} is not one of {', '.join(METHODS)}")
    if dims not in (2, 3):
        raise ValueError(f"dims={dims!r} must be 2 or 3")
    if points is not None and not 1 <= points <= len(dataset):
        raise ValueError(f"points={points} is outside 1..{len(dataset):,}, the images of "
                         f"{dataset.name}")
    indices = subsample(len(dataset), points, seed)
    chosen = torch.from_numpy(indices)
    images = dataset.images if points is None else dataset.images[chosen]  # (N, 28, 28) uint8
    labels = dataset.labels if points is None else dataset.labels[chosen]  # (N,)
    if dims == 3 and model.latent_dim < 3:  # said before thousands of images are encoded
        raise ValueError(f"a 3-D map needs codes of at least 3 numbers, this model's "
                         f"have {model.latent_dim}")
    if announce is not None:
        announce(f"encoding {len(images):,} images of {dataset.name} in batches of "
                 f"{batch_size:,}")
    encoded = encode_dataset(model, images, labels, batch_size, progress)
    if announce is not None:
        slow = "" if method == "pca" else ": this may take a while (minutes for tens of " \
                                          "thousands)"
        announce(f"projecting {len(images):,} codes with {METHOD_NAMES[method]}{slow}")
    projection = project(encoded.codes, method, seed=seed, n_components=dims)
    return DatasetMap(dataset.name, dataset.class_names, indices, encoded, projection)


def write_map(dataset_map: DatasetMap, paths: list[Path], with_codes: bool = False,
              title: str = "") -> list[Path]:
    """Each of `paths` written: a .csv table or a .png scatter (folders made as needed)."""
    check_outputs(paths, dataset_map.projection.coords.shape[1])
    for path in paths:
        content = (dataset_map.csv(with_codes) if path.suffix.lower() == ".csv"
                   else dataset_map.png(title))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    return paths
