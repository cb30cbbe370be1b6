"""Your own images as a dataset: a folder of class subfolders, an .npz, or a .zip of either.

    letters/A/*.png, letters/B/*.jpg, ...   torchvision's ImageFolder layout; PNG, JPEG or BMP
                                             of any size or colour mode; classes are the folders
    images.npz                               x (N, H, W) uint8 or float, optional y (N,) ints,
                                             optional classes (K,) names
    images.zip                               either of the above inside

Every image is brought to MNIST's form by the Draw page's pipeline (ae_core.drawing: the
border says which side is ink, then crop, fit into 20x20, centre of mass at the centre of
28x28), and each class is split into train and test by a fixed seed.

A stranger's file is read with bounds: at most MAX_IMAGES images and MAX_BYTES unpacked bytes
(declared sizes checked before reading, bytes counted while inflating), each image's size read
from its header before it is decoded, one image at a time. A zip is read member by member,
never extracted; a member with an absolute path, `..` or a link is refused, and an .npz is
loaded without unpickling. Anything wrong ends in one DataError line naming the file.
"""

from __future__ import annotations

import functools
import io
import os
import stat
import warnings
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
import torch
from PIL import Image, ImageOps

from ae_core.data import SOURCES, SPLITS, DataError, Dataset, available_splits
from ae_core.drawing import DrawingError, brightness, ink_from_brightness, to_mnist

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp")
FORMATS = ("PNG", "JPEG", "BMP")  # what PIL must find in the header, whatever the suffix says
CONTAINER_SUFFIXES = (".npz", ".zip")
MAX_IMAGES = 60_000  # as many as MNIST's training set
MAX_BYTES = 200 * 1024 * 1024  # unpacked bytes of all images together (or of an .npz's arrays)
MAX_MEMBERS = 2 * MAX_IMAGES  # zip entries of any kind (folders, stray files) before refusing
MAX_PIXELS = 25_000_000  # width x height of one image, read from its header before decoding
TEST_FRACTION = 0.2  # of each class, held out as the test split
SPLIT_SEED = 0  # the same images always split the same way
UNLABELLED = "images"  # the one class of an .npz without y
CHUNK = 1 << 20


@dataclass(frozen=True)
class OwnImages:
    """A user's images in MNIST form, split per class into train and test."""

    name: str
    train: Dataset
    test: Dataset

    @property
    def class_names(self) -> tuple[str, ...]:
        return self.train.class_names


def is_own_images(source: str | Path) -> bool:
    """Whether `source` names a user's images: an .npz or .zip path, or a folder that holds
    no MNIST idx files (the folder of class subfolders)."""
    if str(source) in SOURCES:  # a name, even where a folder of that name exists
        return False
    path = Path(source)
    if path.suffix.lower() in CONTAINER_SUFFIXES:
        return True
    return path.is_dir() and not available_splits(path)


def load_own_images(source: str | Path) -> OwnImages:
    """The images at `source`, read once per process while the files stay as they were."""
    path = Path(source).resolve()
    train, test = _cached(str(path), _signature(path))
    # Copies: a caller may change its tensors without touching the next caller's.
    return OwnImages(path.stem, *(Dataset(d.name, d.images.clone(), d.labels.clone(),
                                          d.class_names) for d in (train, test)))


def load_own_split(source: str | Path, split: str) -> Dataset:
    """One split ("train" or "test") of the images at `source`."""
    if split not in SPLITS:
        raise DataError(f"split={split!r} is not one of {', '.join(SPLITS)}")
    images = load_own_images(source)
    return images.train if split == "train" else images.test


def checkpoint_info(source: str) -> dict[str, Any]:
    """What a checkpoint trained on `source` records besides the path: the class names, so
    a model can name its classes after its images are gone. Empty for the named datasets."""
    if not is_own_images(source):
        return {}
    return {"class_names": list(load_own_images(source).class_names)}


def read_own_images(source: str | Path) -> OwnImages:
    """The images at `source`, read now (no cache): DataError in one line for bad input."""
    path = Path(source)
    if path.suffix.lower() in CONTAINER_SUFFIXES:
        if not path.is_file():
            raise DataError(f"{path}: file not found")
        if path.stat().st_size > MAX_BYTES:
            raise DataError(f"{path.name}: {path.stat().st_size / 2**20:.0f} MB is more than "
                            f"the {MAX_BYTES // 2**20} MB limit")
        with path.open("rb") as file:
            if path.suffix.lower() == ".npz":
                images, labels, class_names = _read_npz(file, path.name, MAX_BYTES)
            else:
                images, labels, class_names = _read_zip(file, path.name)
    elif path.is_dir():
        images, labels, class_names = _read_folder(path)
    else:
        raise DataError(f"{path}: not found; give a folder of class subfolders, an .npz or "
                        f".zip")
    return _split(path.stem, images, labels, class_names)


@functools.lru_cache(maxsize=4)
def _cached(path: str, signature: tuple) -> tuple[Dataset, Dataset]:
    images = read_own_images(path)
    return images.train, images.test


def _signature(path: Path) -> tuple:
    """What changes when the images do: a file's size and times, or a folder's listing."""
    if path.is_dir():
        return tuple(sorted((str(file.relative_to(path)), *_stamp(file))
                            for file in path.rglob("*") if file.is_file()))
    return _stamp(path) if path.exists() else ()


def _stamp(path: Path) -> tuple[int, int, int]:
    info = path.stat()
    return info.st_size, info.st_mtime_ns, info.st_ino


def _split(name: str, images: np.ndarray, labels: np.ndarray,
           class_names: tuple[str, ...]) -> OwnImages:
    """Per class, a seeded TEST_FRACTION to test (one at least when a class has two)."""
    generator = torch.Generator().manual_seed(SPLIT_SEED)
    labels_tensor = torch.from_numpy(labels.astype(np.int64))
    train, test = [], []
    for label in labels_tensor.unique():
        members = torch.nonzero(labels_tensor == label).squeeze(1)
        members = members[torch.randperm(len(members), generator=generator)]
        count = max(1, round(len(members) * TEST_FRACTION)) if len(members) > 1 else 0
        test.append(members[:count])
        train.append(members[count:])
    if not sum(len(part) for part in test):
        raise DataError(f"{name}: too few images to hold any out for testing; give a class "
                        f"two images at least")
    everything = Dataset(name, torch.from_numpy(images), labels_tensor, class_names)
    return OwnImages(name, everything.subset(torch.cat(train).sort().values, f"{name}-train"),
                     everything.subset(torch.cat(test).sort().values, f"{name}-test"))


# ---- one image -------------------------------------------------------------------------

def mnist_form(data: bytes, name: str) -> np.ndarray:
    """PNG, JPEG or BMP bytes -> (28, 28) uint8 in MNIST's form, or DataError naming `name`."""
    try:
        with warnings.catch_warnings():  # PIL warns above its own, larger, limit
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))  # the header only
        if image.format not in FORMATS:
            raise DataError(f"{name}: a {image.format} image; use PNG, JPEG or BMP")
        width, height = image.size
        if width * height > MAX_PIXELS:
            raise DataError(f"{name}: {width}x{height} pixels is more than the "
                            f"{MAX_PIXELS / 1e6:.0f}-megapixel limit")
        image.load()
        image = ImageOps.exif_transpose(image)
        grey = brightness(image)
    except DataError:
        raise
    except Image.DecompressionBombError:
        raise DataError(f"{name}: more pixels than the {MAX_PIXELS / 1e6:.0f}-megapixel "
                        f"limit") from None
    except Exception as error:  # PIL parses a stranger's bytes: any failure means unreadable
        raise DataError(f"{name}: unreadable or truncated image ({type(error).__name__})") \
            from None
    return _ink_to_mnist(grey, name)


def _ink_to_mnist(grey: np.ndarray, name: str) -> np.ndarray:
    """(H, W) brightness in [0, 1] -> (28, 28) uint8 through the Draw page's pipeline."""
    try:
        digit = to_mnist(ink_from_brightness(grey))  # (1, 28, 28) in [0, 1]
    except DrawingError as error:
        raise DataError(f"{name}: cannot be brought to MNIST form ({error})") from None
    return (digit[0].numpy() * 255).round().astype(np.uint8)


# ---- a folder of class subfolders ------------------------------------------------------

def _hidden(parts: tuple[str, ...]) -> bool:
    """.DS_Store, .git/, __MACOSX/: what tools leave beside the images."""
    return any(part.startswith(".") or part == "__MACOSX" for part in parts)


def _read_folder(folder: Path) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    files = []
    for directory, subfolders, names in os.walk(folder):
        subfolders.sort()
        for name in sorted(names):
            parts = (Path(directory) / name).relative_to(folder).parts
            if not _hidden(parts) and Path(name).suffix.lower() in IMAGE_SUFFIXES:
                files.append(parts)
                if len(files) > MAX_IMAGES:
                    raise DataError(f"{folder}: more than {MAX_IMAGES:,} images")
    if not files:
        raise DataError(f"{folder}: no PNG, JPEG or BMP images in class subfolders (nor MNIST "
                        f"idx files)")
    budget = _Budget(folder.name)

    def read(parts: tuple[str, ...]) -> bytes:
        with (folder / Path(*parts)).open("rb") as file:
            return budget.read(file, "/".join(parts))

    return _read_images(files, read, folder.name, strip_common=False)


def _read_images(files: list[tuple[str, ...]], read: Callable[[tuple[str, ...]], bytes],
                 source: str, strip_common: bool) -> tuple[np.ndarray, np.ndarray,
                                                           tuple[str, ...]]:
    """Image paths (as parts) -> images, labels and sorted class names from their folders.

    The class is the first folder below the root: the folder given, or in a zip the folders
    every image shares (a zip of `letters/` holds `letters/A/...`).
    """
    folders = [parts[:-1] for parts in files]
    root: tuple[str, ...] = ()
    if strip_common:
        root = os.path.commonprefix(folders)
    loose = [parts for parts, folder in zip(files, folders, strict=True) if folder == root]
    if len(loose) == len(files):
        where = "/".join(root) or "the top folder"
        raise DataError(f"{source}: one class only (every image is in {where}); put the images "
                        f"in one subfolder per class, two classes at least")
    if loose:
        raise DataError(f"{source}: {'/'.join(loose[0])} sits beside the class folders; every "
                        f"image goes in its class's folder")
    class_names = tuple(sorted({folder[len(root)] for folder in folders}))
    if len(class_names) < 2:
        raise DataError(f"{source}: one class only ({class_names[0]}); put the images in one "
                        f"subfolder per class, two classes at least")
    index = {name: label for label, name in enumerate(class_names)}
    images = np.empty((len(files), 28, 28), dtype=np.uint8)
    labels = np.empty(len(files), dtype=np.int64)
    for position, parts in enumerate(files):
        images[position] = mnist_form(read(parts), "/".join(parts))
        labels[position] = index[parts[len(root)]]
    return images, labels, class_names


class _Budget:
    """Counts the bytes actually read or inflated against MAX_BYTES."""

    def __init__(self, source: str, limit: int = MAX_BYTES) -> None:
        self.source, self.left = source, limit

    def read(self, file, name: str, declared: int | None = None) -> bytes:
        chunks = []
        while True:
            chunk = file.read(min(CHUNK, self.left + 1))
            if not chunk:
                break
            self.left -= len(chunk)
            if self.left < 0:
                raise DataError(f"{self.source}: more than {MAX_BYTES // 2**20} MB of images "
                                f"unpacked (at {name})")
            chunks.append(chunk)
        data = b"".join(chunks)
        if declared is not None and len(data) != declared:
            raise DataError(f"{self.source}: {name} unpacks to {len(data)} bytes, not the "
                            f"{declared} its entry declares")
        return data


# ---- a zip -----------------------------------------------------------------------------

ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, OSError, EOFError,
              RuntimeError, NotImplementedError, ValueError, KeyError, UnicodeError,
              OverflowError, IndexError)


def _member_parts(info: zipfile.ZipInfo, source: str) -> tuple[str, ...]:
    """A member's path as parts, refusing what could point outside a folder or elsewhere."""
    name = info.filename.replace("\\", "/")
    if name.startswith("/") or (len(name) > 1 and name[1] == ":") or "\x00" in name:
        raise DataError(f"{source}: member {info.filename!r} has an absolute path; refused")
    parts = tuple(part for part in PurePosixPath(name).parts if part not in ("", "."))
    if ".." in parts:
        raise DataError(f"{source}: member {info.filename!r} climbs out with '..'; refused")
    if stat.S_ISLNK(info.external_attr >> 16):
        raise DataError(f"{source}: member {info.filename!r} is a link; refused")
    if info.flag_bits & 0x1:
        raise DataError(f"{source}: member {info.filename!r} is encrypted")
    return parts


def _read_zip(file, source: str) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    try:
        with zipfile.ZipFile(file) as archive:
            infos = archive.infolist()
            if len(infos) > MAX_MEMBERS:
                raise DataError(f"{source}: {len(infos):,} entries is more than "
                                f"{MAX_MEMBERS:,}")
            members = [(info, _member_parts(info, source)) for info in infos]
            if sum(info.file_size for info in infos) > MAX_BYTES:
                raise DataError(f"{source}: unpacks to more than {MAX_BYTES // 2**20} MB; "
                                f"refused")
            kept = [(info, parts) for info, parts in members
                    if parts and not info.is_dir() and not _hidden(parts)]
            arrays = [(info, parts) for info, parts in kept if parts[-1].lower().endswith(".npz")]
            files = {parts: info for info, parts in kept
                     if Path(parts[-1]).suffix.lower() in IMAGE_SUFFIXES}
            budget = _Budget(source)
            if arrays and files or len(arrays) > 1:
                raise DataError(f"{source}: holds {len(arrays)} .npz and {len(files)} images; "
                                f"a zip holds one .npz or a folder of images")
            if arrays:
                info, parts = arrays[0]
                with archive.open(info) as member:
                    data = budget.read(member, info.filename, info.file_size)
                return _read_npz(io.BytesIO(data), f"{source}/{'/'.join(parts)}", MAX_BYTES)
            if not files:
                raise DataError(f"{source}: no PNG, JPEG or BMP images and no .npz inside")
            if len(files) > MAX_IMAGES:
                raise DataError(f"{source}: {len(files):,} images is more than "
                                f"{MAX_IMAGES:,}")

            def read(parts: tuple[str, ...]) -> bytes:
                info = files[parts]
                with archive.open(info) as member:
                    return budget.read(member, info.filename, info.file_size)

            return _read_images(sorted(files), read, source, strip_common=True)
    except DataError:
        raise
    except ZIP_ERRORS as error:
        raise DataError(f"{source}: not a readable zip ({type(error).__name__}: "
                        f"{str(error)[:80]})") from None


# ---- an .npz ---------------------------------------------------------------------------

def _read_npz(file, source: str, limit: int) -> tuple[np.ndarray, np.ndarray,
                                                      tuple[str, ...]]:
    """x (N, H, W) uint8 or float, optional y (N,) integers and classes (K,) names."""
    try:
        with zipfile.ZipFile(file) as archive:  # an .npz is a zip of .npy files
            infos = {info.filename: info for info in archive.infolist()}
            if len(infos) > 64:
                raise DataError(f"{source}: {len(infos)} arrays; expected x, y and classes")
            for info in infos.values():
                _member_parts(info, source)
            if sum(info.file_size for info in infos.values()) > limit:
                raise DataError(f"{source}: its arrays unpack to more than "
                                f"{limit // 2**20} MB; refused")
            budget = _Budget(source, limit)

            def array(name: str) -> np.ndarray | None:
                info = infos.get(f"{name}.npy")
                if info is None:
                    return None
                with archive.open(info) as member:
                    data = budget.read(member, info.filename, info.file_size)
                return _npy(data, f"{source}: {name}")

            x, y, classes = array("x"), array("y"), array("classes")
    except DataError:
        raise
    except ZIP_ERRORS as error:
        raise DataError(f"{source}: not a readable .npz ({type(error).__name__}: "
                        f"{str(error)[:80]})") from None
    if x is None:
        raise DataError(f"{source}: no array x (the images, N x H x W)")
    labels, class_names = _npz_labels(x, y, classes, source)  # the cheap checks first
    return _npz_images(x, source), labels, class_names


def _npy(data: bytes, name: str) -> np.ndarray:
    """One .npy file's array, its header checked against its length before anything is
    allocated; never unpickled."""
    stream = io.BytesIO(data)
    version = np.lib.format.read_magic(stream)
    if version == (1, 0):
        shape, fortran_order, dtype = np.lib.format.read_array_header_1_0(stream)
    elif version == (2, 0):
        shape, fortran_order, dtype = np.lib.format.read_array_header_2_0(stream)
    else:
        raise DataError(f"{name}: .npy format version {version} is not read here")
    if dtype.hasobject:
        raise DataError(f"{name} holds Python objects; only plain number and text arrays "
                        f"are read")
    expected = int(np.prod(shape, dtype=object)) * dtype.itemsize
    if expected != len(data) - stream.tell():
        raise DataError(f"{name}: {len(data) - stream.tell()} bytes of data where its header "
                        f"says {expected} (truncated or damaged)")
    stream.seek(0)
    return np.load(stream, allow_pickle=False)


def _npz_images(x: np.ndarray, source: str) -> np.ndarray:
    """x -> (N, 28, 28) uint8 in MNIST form, one image at a time."""
    if x.ndim != 3 or 0 in x.shape:
        raise DataError(f"{source}: x has shape {x.shape}; expected N x H x W images")
    if not len(x) <= MAX_IMAGES:
        raise DataError(f"{source}: {len(x):,} images is more than {MAX_IMAGES:,}")
    if x.shape[1] * x.shape[2] > MAX_PIXELS:
        raise DataError(f"{source}: {x.shape[2]}x{x.shape[1]} pixels per image is more than "
                        f"the {MAX_PIXELS / 1e6:.0f}-megapixel limit")
    if x.dtype == np.uint8:
        scale = 255.0
    elif np.issubdtype(x.dtype, np.floating):
        if not np.isfinite(x).all() or x.min() < 0 or x.max() > 255:
            raise DataError(f"{source}: x's floats must be finite, in [0, 1] or [0, 255]")
        scale = 1.0 if x.max() <= 1 else 255.0
    else:
        raise DataError(f"{source}: x is {x.dtype}; expected uint8 or float images")
    images = np.empty((len(x), 28, 28), dtype=np.uint8)
    for position, image in enumerate(x):
        grey = np.asarray(image, dtype=np.float32) / scale
        images[position] = _ink_to_mnist(grey, f"{source}: x[{position}]")
    return images


def _npz_labels(x: np.ndarray, y: np.ndarray | None, classes: np.ndarray | None,
                source: str) -> tuple[np.ndarray, tuple[str, ...]]:
    """y -> labels 0..K-1 and their names: `classes` if given, else y's own values."""
    if y is None:
        return np.zeros(len(x), dtype=np.int64), (UNLABELLED,)
    if y.shape != (len(x),) or not np.issubdtype(y.dtype, np.integer):
        raise DataError(f"{source}: y is {y.dtype} {y.shape}; expected {len(x)} integer labels")
    if y.min() < 0:
        raise DataError(f"{source}: y holds a negative label ({y.min()})")
    values = np.unique(y)
    if len(values) < 2:
        raise DataError(f"{source}: one class only (every y is {values[0]}); two classes at "
                        f"least")
    if classes is None:
        return np.searchsorted(values, y).astype(np.int64), tuple(str(v) for v in values)
    if classes.ndim != 1 or classes.dtype.kind not in "US":
        raise DataError(f"{source}: classes must be a 1-D array of names")
    names = tuple(c.decode("utf-8", "replace") if isinstance(c, bytes) else str(c)
                  for c in classes.tolist())
    if y.max() >= len(names) or len(set(names)) != len(names):
        raise DataError(f"{source}: classes has {len(names)} distinct names; y needs "
                        f"{int(y.max()) + 1}, one per label")
    return y.astype(np.int64), names
