"""Your own images (ae_core.own_images): letters that are not MNIST train, evaluate and map
from the command line with their own class names; a folder, its zip and an .npz give the
same images; every kind of bad input is refused in one line, and nothing is written."""

from __future__ import annotations

import io
import json
import os
import stat
import struct
import subprocess
import sys
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from ae_core import own_images
from ae_core.checkpoint import load_checkpoint
from ae_core.cli import main
from ae_core.data import DataError, evaluation_set, load_dataset
from ae_core.drawing import digit_from_file
from ae_core.own_images import (
    MAX_BYTES,
    MAX_IMAGES,
    OwnImages,
    checkpoint_info,
    is_own_images,
    load_own_images,
    read_own_images,
)
from tests.letters import LETTERS, make_letters, zip_folder

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def letters(tmp_path_factory) -> Path:
    return make_letters(tmp_path_factory.mktemp("own") / "letters", per_class=10)


def one_line_refusal(path: Path, *fragments: str) -> str:
    """Loading `path` fails with one DataError line holding every fragment."""
    with pytest.raises(DataError) as refused:
        read_own_images(path)
    message = str(refused.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message, message
    return message


def png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def write_zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def test_letters_become_28x28_in_mnist_form_split_per_class(letters):
    images = load_own_images(letters)
    assert images.name == "letters" and images.class_names == LETTERS
    assert len(images.train) + len(images.test) == 30
    for split in (images.train, images.test):  # every class in both splits
        assert split.images.shape[1:] == (28, 28) and split.images.dtype == torch.uint8
        assert set(split.labels.tolist()) == {0, 1, 2}
        assert split.class_names == LETTERS
    assert len(images.test) == 6  # 20 % of each class of 10
    # The Draw page's pipeline, not a copy of it: one file gives the same digit both ways.
    path = letters / "B" / "0.png"
    drawn = (digit_from_file(path.read_bytes())[0] * 255).round().to(torch.uint8)
    assert torch.equal(torch.from_numpy(own_images.mnist_form(path.read_bytes(), "B/0.png")),
                       drawn)
    # MNIST form: light ink on black, the ink's centre of mass near (14, 14).
    ink = images.train.float_images()[:, 0]
    assert float(ink[:, 0, :].max()) == 0 and float(ink[:, :, 0].max()) == 0
    rows = (ink.sum(2) * torch.arange(28.0)).sum(1) / ink.sum((1, 2))
    assert torch.all((rows - 14).abs() < 1.5)
    # A fixed seed: the same split every time, and the cache gives copies.
    again = read_own_images(letters)
    assert torch.equal(again.test.images, images.test.images)
    images.train.images.zero_()
    assert load_own_images(letters).train.images.any()


def test_a_zip_and_an_npz_give_the_same_images(letters, tmp_path):
    folder = load_own_images(letters)
    for prefix in ("", "letters/"):  # zipped from inside the folder, or `zip -r` of it
        path = tmp_path / "letters.zip"
        path.write_bytes(zip_folder(letters, prefix))
        with zipfile.ZipFile(path, "a") as archive:  # what a Mac's or a person's zip adds
            archive.writestr(f"__MACOSX/{prefix}A/._0.png", b"resource fork")
            archive.writestr(f"{prefix}.DS_Store", b"finder")
            archive.writestr(f"{prefix}README.txt", b"letters A, B, C")
            archive.writestr(f"{prefix}B/", b"")  # a folder entry
        zipped = read_own_images(path)
        assert zipped.class_names == LETTERS
        assert torch.equal(zipped.train.images, folder.train.images)
        assert torch.equal(zipped.test.labels, folder.test.labels)

    everything = torch.cat([folder.train.images, folder.test.images]).numpy()
    labels = torch.cat([folder.train.labels, folder.test.labels]).numpy()
    npz = tmp_path / "letters.npz"
    np.savez(npz, x=everything, y=labels, classes=np.array(LETTERS))
    from_npz = read_own_images(npz)
    assert from_npz.class_names == LETTERS and len(from_npz.test) == 6
    np.savez(npz, x=everything.astype(np.float32) / 255, y=labels + 3)  # floats, labels 3..5
    numbered = read_own_images(npz)
    assert numbered.class_names == ("3", "4", "5")
    assert set(numbered.train.labels.tolist()) == {0, 1, 2}
    np.savez(npz, x=everything)  # no labels: one unlabelled class
    assert read_own_images(npz).class_names == (own_images.UNLABELLED,)
    inner = tmp_path / "inner.zip"  # an .npz inside a zip
    np.savez(npz, x=everything, y=labels, classes=np.array(LETTERS))
    write_zip(inner, {"data/letters.npz": npz.read_bytes(), "README.txt": b"letters"})
    assert read_own_images(inner).class_names == LETTERS


def test_load_dataset_and_evaluation_set_take_a_path(letters, tmp_path, monkeypatch):
    assert is_own_images(letters) and is_own_images("x.zip") and is_own_images("x.NPZ")
    monkeypatch.chdir(tmp_path)
    for name in ("mnist-embedded", "mnist", "fashion-mnist"):  # names, whatever is here
        (tmp_path / name).mkdir()
        assert not is_own_images(name)
    train = load_dataset(str(letters), "train")
    test = evaluation_set(str(letters))
    assert train.class_names == test.class_names == LETTERS
    assert (len(train), len(test)) == (24, 6)
    assert checkpoint_info(str(letters)) == {"class_names": list(LETTERS)}
    assert checkpoint_info("mnist-embedded") == {}


def run_main(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_letters_train_evaluate_and_map_from_the_command_line(letters, tmp_path, capsys):
    out = tmp_path / "letters_ae.safetensors"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    trained = subprocess.run(
        [sys.executable, "-m", "ae_core", "train", "--dataset", os.path.relpath(letters, ROOT),
         "--epochs", "1", "--latent-dim", "2", "--hidden-sizes", "32", "--batch-size", "16",
         "--out", str(out)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert trained.returncode == 0, trained.stderr
    checkpoint = load_checkpoint(out)
    # The path is recorded whole (the model finds its images from anywhere), and the class
    # names beside it (the model names its classes after the images are gone).
    assert checkpoint.train_config.dataset == str(letters.resolve())
    assert checkpoint.info["dataset"] == str(letters.resolve())
    assert checkpoint.info["class_names"] == list(LETTERS)

    code, stdout, stderr = run_main(capsys, "evaluate", str(out), "--dataset", str(letters))
    assert code == 0, stderr
    assert "on letters-test, 6 " in stdout and "mse_per_pixel" in stdout

    table = tmp_path / "map.csv"
    code, stdout, stderr = run_main(capsys, "map", str(out), "--dataset", str(letters),
                                    "--split", "all", "--out", str(table),
                                    str(table.with_suffix(".png")))
    assert code == 0, stderr
    rows = table.read_text().splitlines()
    assert rows[0].startswith("index,label,class,")
    assert len(rows) == 31
    assert {row.split(",")[2] for row in rows[1:]} == set(LETTERS)
    assert table.with_suffix(".png").read_bytes()[:4] == b"\x89PNG"

    folder = tmp_path / "models"
    folder.mkdir()
    out.rename(folder / out.name)
    code, stdout, stderr = run_main(capsys, "quality", "--checkpoints", str(folder),
                                    "--dataset", str(letters), "--iw-samples", "0")
    assert code == 0, stderr
    assert "letters_ae" in stdout and "letters-test" in stdout


def test_the_command_line_speaks_of_your_own_images_in_their_words(letters, tmp_path, capsys):
    """evaluate, sample and map --help, for a model trained on one's own images: no "digits"
    for letters (the metric, the fitted-Gaussian note), and map's default is the path."""
    from ae_core.checkpoint import save_checkpoint
    from ae_core.config import ModelConfig, TrainConfig
    from ae_core.models import build_model

    path = tmp_path / "letters_ae.safetensors"
    save_checkpoint(path, build_model(ModelConfig(family="ae", latent_dim=2, hidden_sizes=(8,))),
                    TrainConfig(dataset=str(letters.resolve())),
                    info={"class_names": list(LETTERS)})
    code, stdout, stderr = run_main(capsys, "evaluate", str(path), "--json")
    assert code == 0, stderr
    metrics = json.loads(stdout)
    assert metrics["test_images"] == 6 and "test_digits" not in metrics
    picture = tmp_path / "samples.png"
    code, stdout, stderr = run_main(capsys, "sample", str(path), "--n", "4", "--out",
                                    str(picture))
    assert code == 0, stderr
    assert "fitted to the codes of real images" in stderr and "digit" not in stderr
    with pytest.raises(SystemExit):
        main(["map", "--help"])
    shown = " ".join(capsys.readouterr().out.split())
    assert "the path it was trained on for your own images" in shown


# ---- refusals ---------------------------------------------------------------------------

def test_empty_folders_and_folders_without_images_are_refused(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    one_line_refusal(empty, "no PNG, JPEG or BMP images")
    (empty / "A").mkdir()
    (empty / "A" / "notes.txt").write_text("not an image")
    (empty / ".hidden.png").write_bytes(b"")
    one_line_refusal(empty, "no PNG, JPEG or BMP images")
    one_line_refusal(tmp_path / "missing.zip", "not found")
    with pytest.raises(DataError, match="unknown dataset"):
        load_dataset(str(tmp_path / "nowhere"), "train")


def test_one_class_is_refused(tmp_path):
    folder = make_letters(tmp_path / "one", per_class=3, letters=("A",))
    one_line_refusal(folder, "one class only (A)")
    loose = tmp_path / "loose"
    loose.mkdir()
    (loose / "x.png").write_bytes((folder / "A" / "0.png").read_bytes())
    one_line_refusal(loose, "one class only")
    one_line_refusal(write_zip(tmp_path / "one.zip", {
        f"A/{path.name}": path.read_bytes() for path in (folder / "A").iterdir()}),
        "one class only", "every image is in A")
    np.savez(tmp_path / "one.npz", x=np.zeros((4, 28, 28), np.uint8), y=np.full(4, 7))
    one_line_refusal(tmp_path / "one.npz", "one class only")
    pair = make_letters(tmp_path / "pair", per_class=1, letters=("A", "B"))
    one_line_refusal(pair, "too few images")  # nothing would be left to test on


def test_unreadable_and_truncated_images_are_refused(letters, tmp_path):
    folder = make_letters(tmp_path / "bad", per_class=2)
    whole = (folder / "B" / "0.png").read_bytes()
    (folder / "B" / "0.png").write_bytes(whole[: len(whole) // 2])
    one_line_refusal(folder, "B/0.png", "unreadable or truncated")
    (folder / "B" / "0.png").write_bytes(b"not a picture at all")
    one_line_refusal(folder, "B/0.png", "unreadable")
    (folder / "B" / "0.png").write_bytes(png_bytes(Image.new("L", (40, 40), 255)))
    one_line_refusal(folder, "B/0.png", "MNIST form")  # blank: nothing stands out
    gif = io.BytesIO()
    Image.new("L", (40, 40)).save(gif, "GIF")
    (folder / "B" / "0.png").write_bytes(gif.getvalue())
    one_line_refusal(folder, "a GIF image")


def huge_png(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height (the CRC mended), its data a few bytes."""
    data = bytearray(png_bytes(Image.new("L", (8, 8), 0)))
    start = data.index(b"IHDR")
    data[start + 4: start + 12] = struct.pack(">II", width, height)
    crc = zlib.crc32(bytes(data[start: start + 17]))
    data[start + 17: start + 21] = struct.pack(">I", crc)
    return bytes(data)


@pytest.mark.parametrize("side", [6000, 20_000, 100_000])
def test_a_header_with_too_many_pixels_is_refused_before_decoding(tmp_path, side):
    folder = make_letters(tmp_path / "huge", per_class=2)
    (folder / "C" / "1.png").write_bytes(huge_png(side, side))
    peak = _peak_mb()
    one_line_refusal(folder, "C/1.png", "megapixel")
    assert _peak_mb() - peak < 200  # never decoded


def _peak_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def image_zip(extra: dict[str, bytes]) -> dict[str, bytes]:
    drawn = Image.new("L", (30, 30), 0)
    drawn.paste(255, (10, 5, 20, 25))
    picture = png_bytes(drawn)
    return {"A/0.png": picture, "B/0.png": picture, **extra}


@pytest.mark.parametrize("name, fragment", [
    ("../evil.png", "'..'"),
    ("A/../../evil.png", "'..'"),
    ("/tmp/evil.png", "absolute path"),
    ("C:/evil.png", "absolute path"),
    ("\\evil.png", "absolute path"),
])
def test_a_zip_member_outside_the_folder_is_refused(tmp_path, name, fragment):
    work = tmp_path / "work"
    work.mkdir()
    path = write_zip(work / "slip.zip", image_zip({name: b"x"}))
    one_line_refusal(path, fragment)
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["slip.zip", "work"]
    assert not Path("/tmp/evil.png").exists()


def test_a_zip_member_that_is_a_link_is_refused(tmp_path):
    path = tmp_path / "link.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in image_zip({}).items():
            archive.writestr(name, data)
        link = zipfile.ZipInfo("A/1.png")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(link, "/etc/passwd")
    one_line_refusal(path, "A/1.png", "is a link")


def test_zip_bombs_are_refused(tmp_path):
    # Declared sizes: 201 MB of zeros deflates to about 200 kB.
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name, data in image_zip({}).items():
            archive.writestr(name, data)
        with archive.open("A/big.png", "w", force_zip64=True) as member:
            block = bytes(1 << 20)
            for _ in range(MAX_BYTES // len(block) + 1):
                member.write(block)
    assert bomb.stat().st_size < 2 * 2**20
    one_line_refusal(bomb, "more than 200 MB")

    # Lying sizes: the entry says 100 bytes, its deflated data holds 10 MB.
    liar = tmp_path / "liar.zip"
    with zipfile.ZipFile(liar, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in image_zip({}).items():
            archive.writestr(name, data)
        archive.writestr("B/1.png", bytes(10 * 2**20))
    data = bytearray(liar.read_bytes())
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        position = data.rindex(signature)
        data[position + offset: position + offset + 4] = struct.pack("<I", 100)
    liar.write_bytes(bytes(data))
    peak = _peak_mb()
    one_line_refusal(liar, "liar.zip")
    assert _peak_mb() - peak < 100

    # Count: more images than MAX_IMAGES, each a few bytes.
    many = tmp_path / "many.zip"
    with zipfile.ZipFile(many, "w", zipfile.ZIP_STORED) as archive:
        for index in range(MAX_IMAGES + 1):
            archive.writestr(f"{'AB'[index % 2]}/{index}.png", b"")
    one_line_refusal(many, f"more than {MAX_IMAGES:,}")


def test_npz_files_that_are_not_plain_images_are_refused(tmp_path):
    path = tmp_path / "bad.npz"
    objects = np.empty(3, dtype=object)
    objects[:] = [np.zeros((28, 28)), "x", {"a": 1}]
    np.savez(path, x=objects, y=np.arange(3))
    one_line_refusal(path, "x holds Python objects")
    np.savez(path, x=np.zeros((4, 28, 28), np.uint8), y=np.array([0, 1, 0, 1], dtype=object))
    one_line_refusal(path, "y holds Python objects")
    np.savez(path, y=np.arange(3))
    one_line_refusal(path, "no array x")
    np.savez(path, x=np.zeros((4, 28), np.uint8))
    one_line_refusal(path, "N x H x W")
    np.savez(path, x=np.full((2, 28, 28), np.nan), y=np.arange(2))
    one_line_refusal(path, "finite")
    np.savez(path, x=np.zeros((2, 28, 28), np.int32), y=np.arange(2))
    one_line_refusal(path, "int32")
    np.savez(path, x=np.zeros((2, 8, 8), np.uint8), y=np.array([0.5, 1.5]))
    one_line_refusal(path, "integer labels")
    np.savez(path, x=np.zeros((2, 8, 8), np.uint8), y=np.array([0, 3]), classes=np.array(["a"]))
    one_line_refusal(path, "classes has 1")
    # An .npy whose header claims more than it holds: refused before anything is allocated.
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.zeros((2, 8, 8), np.uint8))
    header = buffer.getvalue().replace(b"'shape': (2, 8, 8)", b"'shape': (99999999, 999)")
    assert header != buffer.getvalue()
    write_zip(path, {"x.npy": header})
    one_line_refusal(path, "truncated or damaged")
    write_zip(path, {"x.npy": b"\x93NUMPY\x07\x00" + b"x" * 20})
    one_line_refusal(path, "bad.npz")


# ---- fuzzing ----------------------------------------------------------------------------

FUZZ = settings(max_examples=1000, deadline=4000, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow,
                                       HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def valid_files(tmp_path_factory) -> dict[str, bytes]:
    folder = make_letters(tmp_path_factory.mktemp("fuzz") / "letters", per_class=2)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, x=np.zeros((4, 8, 8), np.uint8) + np.eye(8, dtype=np.uint8) * 200,
                        y=np.array([0, 1, 0, 1]), classes=np.array(["a", "b"]))
    return {".zip": zip_folder(folder), ".npz": buffer.getvalue()}


@pytest.fixture(scope="module")
def fuzz_folder(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzzed")


def loads_or_refuses(folder: Path, suffix: str, data: bytes) -> None:
    path = folder / f"fuzzed{suffix}"
    path.write_bytes(data)
    try:
        assert isinstance(read_own_images(path), OwnImages)
    except DataError as error:
        assert "\n" not in str(error)
    assert {p.name for p in folder.iterdir()} <= {"fuzzed.zip", "fuzzed.npz"}  # no other file


@FUZZ
@given(st.sampled_from([".zip", ".npz"]), st.binary(max_size=4096))
def test_any_bytes_as_a_zip_or_an_npz(fuzz_folder, suffix, data):
    loads_or_refuses(fuzz_folder, suffix, data)


@FUZZ
@given(st.sampled_from([".zip", ".npz"]), st.data())
def test_a_valid_zip_or_npz_with_bytes_changed_or_cut(fuzz_folder, valid_files, suffix, data):
    valid = valid_files[suffix]
    position = data.draw(st.integers(0, len(valid) - 1))
    if data.draw(st.booleans()):
        loads_or_refuses(fuzz_folder, suffix, valid[:position])
    else:
        new = data.draw(st.binary(min_size=1, max_size=8))
        loads_or_refuses(fuzz_folder, suffix, valid[:position] + new + valid[position + len(new):])
