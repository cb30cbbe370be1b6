"""`python -m ae_core map`: a latent map of a whole dataset as a CSV and a PNG, the library
steps behind it (ae_core.mapping), and the one-line errors of its bad arguments. PCA only:
UMAP and t-SNE are the page's and the projection tests' business."""

from __future__ import annotations

import csv
import io
import struct
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from ae_core.checkpoint import load_checkpoint
from ae_core.data import DIGIT_CLASSES, Dataset
from ae_core.latent import encode_dataset
from ae_core.mapping import map_dataset, map_images
from tests.test_cli import assert_one_line_error, run_main


def read_csv(path: Path) -> tuple[list[str], list[list[str]]]:
    rows = list(csv.reader(io.StringIO(path.read_text())))
    return rows[0], rows[1:]


def write_idx(folder: Path, prefix: str, images: torch.Tensor, labels: torch.Tensor) -> None:
    """`prefix`-images-idx3-ubyte and its labels, raw idx from uint8 (N, 28, 28) images."""
    count = len(images)
    (folder / f"{prefix}-images-idx3-ubyte").write_bytes(
        struct.pack(">IIII", 0x803, count, 28, 28) + images.numpy().tobytes())
    (folder / f"{prefix}-labels-idx1-ubyte").write_bytes(
        struct.pack(">II", 0x801, count) + labels.numpy().astype(np.uint8).tobytes())


@pytest.fixture
def cvae_3(tiny_checkpoints: Path) -> Path:
    return tiny_checkpoints / "cvae_3.safetensors"


def test_map_of_the_embedded_digits_writes_a_csv_and_a_png(capsys, tmp_path, cvae_3,
                                                          embedded: Dataset):
    table, picture = tmp_path / "maps" / "map.csv", tmp_path / "maps" / "map.png"
    code, out, err = run_main(capsys, "map", str(cvae_3), "--dataset", "mnist-embedded",
                              "--points", "600", "--seed", "4", "--codes",
                              "--out", str(table), str(picture))
    assert code == 0, err
    assert "600 images of mnist-embedded, PCA to 2-D" in out
    assert "encoding 600 images of mnist-embedded" in err and "projecting 600 codes" in err
    assert "Traceback" not in err

    header, rows = read_csv(table)
    assert header == ["index", "label", "class", "error", "x", "y", "z0", "z1", "z2"]
    assert len(rows) == 600
    indices = np.array([int(row[0]) for row in rows])
    assert len(np.unique(indices)) == 600 and (np.diff(indices) > 0).all()
    assert 0 <= indices[0] and indices[-1] < len(embedded)
    labels = np.array([int(row[1]) for row in rows])
    np.testing.assert_array_equal(labels, embedded.labels[indices].numpy())
    assert [row[2] for row in rows] == [DIGIT_CLASSES[label] for label in labels]
    # Each row's code is the model's code of that dataset image, whatever the sample.
    model = load_checkpoint(cvae_3).model
    index = torch.from_numpy(indices)
    expected = encode_dataset(model, embedded.images[index], embedded.labels[index])
    codes = np.array([[float(value) for value in row[6:9]] for row in rows])
    np.testing.assert_allclose(codes, expected.codes.numpy(), rtol=1e-4, atol=1e-5)
    # PCA: centred, and the first axis carries at least as much variance as the second.
    coords = np.array([[float(row[4]), float(row[5])] for row in rows])
    np.testing.assert_allclose(coords.mean(axis=0), 0.0, atol=1e-3)
    assert coords[:, 0].var() >= coords[:, 1].var() > 0

    assert picture.read_bytes().startswith(b"\x89PNG")
    with Image.open(picture) as image:
        assert image.width > 400 and image.height > 400


def test_a_sample_is_seeded(capsys, tmp_path, cvae_3):
    first, again, other = (tmp_path / f"{name}.csv" for name in ("first", "again", "other"))
    for path, seed in ((first, "1"), (again, "1"), (other, "2")):
        code, _, err = run_main(capsys, "map", str(cvae_3), "--points", "50", "--seed", seed,
                                "--out", str(path))
        assert code == 0, err
    assert first.read_text() == again.read_text()
    assert first.read_text() != other.read_text()
    assert read_csv(first)[0] == ["index", "label", "class", "error", "x", "y"]  # no --codes


def test_map_of_both_splits_of_an_idx_folder(capsys, tmp_path, cvae_3, digits: Dataset):
    """--split all: the training images, then the test images, of any MNIST-format folder."""
    folder = tmp_path / "idx"
    folder.mkdir()
    write_idx(folder, "train", digits.images[:120], digits.labels[:120])
    write_idx(folder, "t10k", digits.images[120:], digits.labels[120:])
    assert len(map_images(str(folder), "test")) == 80
    out = tmp_path / "all.csv"
    code, stdout, err = run_main(capsys, "map", str(cvae_3), "--dataset", str(folder),
                                 "--split", "all", "--dims", "3", "--out", str(out))
    assert code == 0, err
    assert "200 images of idx-all" in stdout
    header, rows = read_csv(out)
    assert header == ["index", "label", "class", "error", "x", "y", "z"]
    assert [int(row[0]) for row in rows] == list(range(200))
    assert [int(row[1]) for row in rows] == digits.labels.tolist()


def test_map_dataset_refuses_before_encoding(digits: Dataset, tiny_checkpoints: Path,
                                             monkeypatch):
    from ae_core import mapping

    def never(*args, **kwargs):
        raise AssertionError("encoded although the arguments were wrong")

    model = load_checkpoint(tiny_checkpoints / "vae_2.safetensors").model
    with pytest.raises(ValueError, match="at least 3 numbers, this model's have 2"):
        map_dataset(model, digits, dims=3)
    monkeypatch.setattr(mapping, "encode_dataset", never)
    for points in (0, 201):
        with pytest.raises(ValueError, match=r"outside 1\.\.200"):
            map_dataset(model, digits, points=points)
    with pytest.raises(ValueError, match="method='isomap'"):
        map_dataset(model, digits, "isomap")


@pytest.mark.parametrize("args, fragments", [
    (["--points", "0"], ["--points 0", "at least 1"]),
    (["--points", "5001"], ["points=5001", "1..5,000", "mnist-embedded"]),
    (["--dataset", "kmnist"], ["unknown dataset 'kmnist'"]),
    (["--dataset", "mnist-embedded", "--split", "test"], ["training digits only"]),
    (["--projection", "isomap"], ["--projection", "invalid choice", "'isomap'"]),
    (["--dims", "4"], ["--dims", "invalid choice"]),
    (["--out", "map.txt"], ["map.txt", "must end in .csv or .png"]),
    (["--dims", "3", "--out", "map.png"], ["map.png", "2-D scatter", ".csv only"]),
], ids=["points-0", "points-too-many", "dataset", "split", "projection", "dims", "suffix",
        "3d-png"])
def test_bad_map_arguments(capsys, tmp_path, monkeypatch, cvae_3, args, fragments):
    monkeypatch.chdir(tmp_path)  # where a relative --out would land
    if "--out" not in args:
        args = [*args, "--out", "map.csv"]
    code, out, err = run_main(capsys, "map", str(cvae_3), *args)
    assert code == 2
    assert_one_line_error(code, err, *fragments)
    assert out == "" and list(tmp_path.iterdir()) == []


def test_an_out_under_a_file_fails_before_any_work(capsys, tmp_path, cvae_3, monkeypatch):
    from ae_core import mapping

    monkeypatch.setattr(mapping, "encode_dataset", None)  # never reached
    blocker = tmp_path / "file"
    blocker.write_text("a file, not a folder")
    code, _, err = run_main(capsys, "map", str(cvae_3), "--out", str(blocker / "m.csv"))
    assert code == 2
    assert_one_line_error(code, err, str(blocker), "not a folder that can be written")


def test_a_missing_checkpoint_or_a_2d_code_in_3d(capsys, tmp_path, tiny_checkpoints):
    missing = tmp_path / "nothing.safetensors"
    code, _, err = run_main(capsys, "map", str(missing), "--out", str(tmp_path / "m.csv"))
    assert code == 2
    assert_one_line_error(code, err, "nothing.safetensors", "file not found")
    code, _, err = run_main(capsys, "map", str(tiny_checkpoints / "vae_2.safetensors"),
                            "--dims", "3", "--out", str(tmp_path / "m.csv"))
    assert code == 2
    assert_one_line_error(code, err, "at least 3 numbers")
    assert not (tmp_path / "m.csv").exists()
