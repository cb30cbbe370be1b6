"""Kinds of images by name: what a kind of images is, declared once, the way families are.

Each module in this folder declares one kind with `register(ImageKind(...))`: its class names,
its nouns, where its files live, its image sets (home, test, held out), the set a page's quick
training uses and its out-of-distribution partner. Datasets, training configs and checkpoints
carry the kind's name; pages and the command line read the declaration, never a table of their
own. A new kind is one new file (CONTRIBUTING.md, "Adding a kind of images").

No torch and no file access here: ae_core.config and ae_core.data read this module.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ae_core.data import Dataset

PARTS = ("train", "test", "all", "heldout")  # which images of a dataset an image set holds


@dataclass(frozen=True)
class ImageSet:
    """Images a page can show: `part` of an ae_core.data dataset, under a key and a label."""

    key: str  # how pages and links name it ("fashion-test")
    label: str  # how a page names it ("Fashion-MNIST test set (10,000)")
    dataset: str  # an ae_core.data.load_dataset name or a folder/file path
    part: str  # "train", "test", "all" (both splits) or "heldout" (its validation split)

    def __post_init__(self) -> None:
        if self.part not in PARTS:
            raise ValueError(f"part={self.part!r} must be one of {', '.join(PARTS)}")


@dataclass(frozen=True)
class ImageKind:
    """A kind of images: what it is called, its classes, its files and its image sets."""

    name: str  # the name datasets, configs and checkpoints carry ("fashion-mnist")
    title: str  # "Fashion-MNIST"
    class_names: tuple[str, ...]
    noun: str  # one image: "digit", "garment"
    plural: str  # several: "digits", "clothes"
    sets: tuple[ImageSet, ...]  # every image set of this kind a page may offer
    home: str  # the key of the set its models are shown first (their pages' indices)
    test: str  # the key of its test set (the partner's out-of-distribution images)
    held_out: tuple[str, ...]  # keys of the sets a model trained on it never saw
    quick_train: str  # the TrainConfig.dataset a page trains a quick model of this kind on
    partner: str = ""  # the kind whose test set is this kind's out-of-distribution images
    datasets: tuple[str, ...] = ()  # the ae_core.data names that load this kind
    shape: tuple[int, int] = (28, 28)
    torchvision_folder: str = ""  # torchvision's <root>/<this>/raw layout; "" for none
    system_folders: tuple[Path, ...] = ()  # folders a system package installs it in
    test_folders: tuple[Path, ...] = ()  # folders that may hold its test split alone
    download: str = ""  # the torchvision dataset class `--download` fetches it with
    hard_to_catch: str = ""  # which held-out class an anomaly detector misses, and why

    def __post_init__(self) -> None:
        keys = [image_set.key for image_set in self.sets]
        for key in (self.home, self.test, *self.held_out):
            if key not in keys:
                raise ValueError(f"kind {self.name!r}: {key!r} is not one of its sets "
                                 f"({', '.join(keys)})")

    def image_set(self, key: str) -> ImageSet:
        return next(image_set for image_set in self.sets if image_set.key == key)

    def class_name(self, index: int) -> str:
        return self.class_names[index]


KINDS: dict[str, ImageKind] = {}
_MADE: dict[str, ImageKind] = {}  # kinds made from a dataset at run time (your own images)


def register(kind: ImageKind) -> ImageKind:
    """Add a kind under its name; a name or an image set's key means one thing only."""
    if kind.name in KINDS and KINDS[kind.name] != kind:
        raise ValueError(f"a different kind of images is already registered as {kind.name!r}")
    taken = {image_set.key for other in KINDS.values() if other.name != kind.name
             for image_set in other.sets}
    for image_set in kind.sets:
        if image_set.key in taken:
            raise ValueError(f"kind {kind.name!r}: image set {image_set.key!r} is taken")
    KINDS[kind.name] = kind
    return kind


def get_kind(name: str) -> ImageKind:
    """The kind registered (or made from a dataset) as `name`; an unknown name lists the valid
    ones."""
    kind = KINDS.get(name) or _MADE.get(name)
    if kind is None:
        raise ValueError(f"unknown kind of images {name!r}; valid kinds: {', '.join(KINDS)}")
    return kind


_DIGIT_WORD = re.compile(r"\b(?:(an?|An?) )?([Dd])igit(s?)\b")


def say(text: str, kind: ImageKind) -> str:
    """`text`, written of digits, said of `kind`'s images: "digit(s)" become its nouns (with
    "a"/"an" and a capital kept right). Only for words about the images on show; a sentence
    about digit models themselves stays as written."""
    if kind.noun == "digit":
        return text

    def word(match: re.Match) -> str:
        article, capital, plural = match.groups()
        noun = kind.plural if plural else kind.noun
        noun = noun[0].upper() + noun[1:] if capital == "D" else noun
        if not article:
            return noun
        chosen = "an" if noun[0].lower() in "aeiou" else "a"
        return f"{chosen.capitalize() if article[0] == 'A' else chosen} {noun}"

    return _DIGIT_WORD.sub(word, text)


def kind_name_for(dataset: str) -> str | None:
    """The kind a TrainConfig.dataset name or folder holds, from its name (a folder's listing
    at most): a registered dataset name, a kind's own folder, a folder of idx files (digits);
    None for a path of one's own images (made into a kind from them, `kind_for_dataset`) and
    for a folder not here, whose images nobody can look at (a checkpoint's recorded class
    names make its kind, ae_core.data.model_kind)."""
    for kind in KINDS.values():
        if dataset in kind.datasets or dataset == kind.name:
            return kind.name
    path = Path(dataset)
    for kind in KINDS.values():
        if path in kind.system_folders or path.name in (kind.name, kind.torchvision_folder):
            return kind.name
    if path.suffix == "" and path.is_dir() and not _holds_images_of_its_own(path):
        return DEFAULT_KIND  # a folder of idx files in MNIST's format: digits, as ever
    return None


def _holds_images_of_its_own(folder: Path) -> bool:
    """Whether `folder` is one of subfolders of pictures (ImageFolder), not of idx files."""
    return folder.is_dir() and not any(folder.glob("*idx3-ubyte*")) and any(
        child.is_dir() and child.name not in ("raw", "MNIST", "FashionMNIST")
        for child in folder.iterdir())


def kind_for_dataset(dataset: Dataset) -> ImageKind:
    """The kind of a dataset's images: its registered kind, or for a dataset loaded from a
    path of one's own images a kind made here, named by the path, with the dataset's class
    names and the plain nouns "image"/"images", whose home, test and held-out set is the
    path's test split. A made kind is remembered, so `get_kind` finds it afterwards."""
    if dataset.kind in KINDS:
        return KINDS[dataset.kind]
    return made_kind(dataset.kind, dataset.class_names, tuple(dataset.images.shape[1:]))


def made_kind(source: str, class_names: tuple[str, ...] | list[str],
              shape: tuple[int, ...] = (28, 28)) -> ImageKind:
    """The kind of one's own images at the path `source` with these class names (remembered,
    so `get_kind` and `image_set` find it afterwards): no file is read, so a model that
    recorded its class names has its kind even where its images are gone."""
    class_names = tuple(class_names)
    if source in _MADE and _MADE[source].class_names == class_names:
        return _MADE[source]
    title = Path(source).name or source
    test = ImageSet(f"{source}:test", f"{title}: test images", source, "test")
    kind = ImageKind(source, title, class_names, "image", "images",
                     (test, ImageSet(f"{source}:all", f"{title}: all images", source, "all")),
                     test.key, test.key, (test.key,), source, partner=DEFAULT_KIND,
                     datasets=(source,), shape=tuple(shape))
    _MADE[source] = kind
    return kind


def image_set(key: str) -> tuple[ImageKind, ImageSet]:
    """The kind and image set of a key, among every kind; an unknown key lists them."""
    for kind in (*KINDS.values(), *_MADE.values()):
        for candidate in kind.sets:
            if candidate.key == key:
                return kind, candidate
    keys = [candidate.key for kind in KINDS.values() for candidate in kind.sets]
    raise ValueError(f"unknown image set {key!r}; valid sets: {', '.join(keys)}")


def all_sets() -> list[ImageSet]:
    """Every registered kind's image sets, kind by kind."""
    return [image_set for kind in KINDS.values() for image_set in kind.sets]


DEFAULT_KIND = "mnist"  # what a model with no record of its images was trained on

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")
KINDS[DEFAULT_KIND] = KINDS.pop(DEFAULT_KIND)
KINDS.update({name: KINDS.pop(name) for name in list(KINDS) if name != DEFAULT_KIND})
