"""The command line end to end on the embedded digits (real processes), every config field as an
option, and user mistakes that end in one line on stderr, never a traceback."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from ae_core import data
from ae_core.checkpoint import load_checkpoint, read_metadata, save_checkpoint
from ae_core.cli import _training_digits, build_parser, main
from ae_core.config import COMMON_SETTINGS, PRESETS, ModelConfig, TrainConfig
from ae_core.data import EMBEDDED, SHARED_MNIST_DIR, Dataset, evaluation_set
from ae_core.evaluate import evaluate_model
from ae_core.models import REGISTRY, build_model
from ae_core.registry import all_settings
from ae_core.train import fit, train_model

ROOT = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").lower() == "true"
TRAIN_ARGS = ["train", "--family", "vae", "--latent-dim", "4", "--epochs", "1",
              "--hidden-sizes", "64", "--seed", "3", "--batch-size", "256",
              "--val-fraction", "0.2", "--kl-warmup-epochs", "1", "--exclude-classes", "9"]


def run_cli(*args: str) -> subprocess.CompletedProcess:
    """`python -m ae_core ARGS` in a real process from the project root."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}  # see conftest.one_thread
    return subprocess.run([sys.executable, "-m", "ae_core", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


def run_main(capsys, *args: str) -> tuple[int, str, str]:
    """`main(ARGS)` in this process: exit code, stdout, stderr."""
    try:
        code = main(list(args))
    except SystemExit as exit_:  # argparse's own exits (--help, usage errors)
        code = exit_.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_one_line_error(code: int, err: str, *fragments: str) -> None:
    assert code != 0
    assert "Traceback" not in err, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def shared_mnist_or_skip() -> Path:
    if not (SHARED_MNIST_DIR / "t10k-images-idx3-ubyte.gz").is_file():
        if IN_CI:
            pytest.fail(f"CI=true but the shared MNIST test set is missing at {SHARED_MNIST_DIR}")
        pytest.skip(f"the shared MNIST test set is absent at {SHARED_MNIST_DIR}")
    return SHARED_MNIST_DIR


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    """A VAE trained by `python -m ae_core train` for one epoch on the embedded digits."""
    out = tmp_path_factory.mktemp("cli") / "vae4.safetensors"
    result = run_cli(*TRAIN_ARGS, "--out", str(out))
    assert result.returncode == 0, result.stderr
    return out, result


@pytest.fixture
def cached_embedded(embedded: Dataset, monkeypatch) -> Dataset:
    monkeypatch.setattr(data, "load_embedded", lambda: embedded)
    return embedded


# End to end, in real processes


def test_train_end_to_end(trained):
    out, result = trained
    assert f"saved {out} (1 epochs on cpu)" in result.stdout
    assert "epoch 1/1" in result.stderr and "neg_elbo=" in result.stderr
    assert "Traceback" not in result.stderr
    checkpoint = load_checkpoint(out)
    assert checkpoint.model_config == ModelConfig(family="vae", latent_dim=4, hidden_sizes=(64,))
    assert checkpoint.train_config == TrainConfig(
        epochs=1, seed=3, batch_size=256, val_fraction=0.2, kl_warmup_epochs=1,
        exclude_classes=(9,))
    assert {"loss", "recon_loss", "kl_loss", "neg_elbo"} <= set(checkpoint.metrics)
    assert checkpoint.info["epochs_completed"] == 1 and checkpoint.info["preset"] == "vae"
    assert checkpoint.info["dataset"] == EMBEDDED
    assert [p.name for p in out.parent.iterdir()] == [out.name]  # no temp file left


def test_evaluate_on_the_embedded_digits(trained, capsys, cached_embedded):
    out, _ = trained
    code, stdout, err = run_main(capsys, "evaluate", str(out))
    assert code == 0, err
    lines = stdout.splitlines()
    # Held out: the validation split of the 4,500 digits that are not nines, plus the nines.
    assert lines[0] == f"{out.name} (vae, latent 4) on mnist-embedded/val, 1400 digits"
    values = {line.split()[0]: float(line.split()[1]) for line in lines[1:]}
    assert values["test_digits"] == 1400 and values["pca_components"] == 4
    assert 0 < values["mse_per_pixel"] < 0.2 and values["neg_elbo"] > 0


def test_evaluate_json_on_the_embedded_digits(trained):
    out, _ = trained
    result = run_cli("evaluate", str(out), "--json", "--denoise-sigma", "0.5")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["checkpoint"] == str(out) and report["dataset"] == "mnist-embedded/val"
    assert report["test_digits"] == 1400 and report["pca_components"] == 4
    assert 5 < report["noisy_psnr_db"] < 10 and report["denoised_psnr_db"] > 0


def test_evaluate_on_the_shared_mnist_test_set(trained):
    folder = shared_mnist_or_skip()
    out, _ = trained
    result = run_cli("evaluate", str(out), "--dataset", str(folder), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["dataset"] == "mnist-test" and report["test_digits"] == 10_000
    assert 0 < report["mse_per_pixel"] < 0.2 and report["pca_mse_per_pixel"] > 0


def test_a_hostile_file_in_a_real_process(tmp_path: Path):
    class Hostile:
        def __reduce__(self):
            return (open, (str(tmp_path / "pwned"), "w"))

    path = tmp_path / "model.safetensors"
    torch.save({"weights": Hostile()}, path)
    result = run_cli("evaluate", str(path))
    assert result.returncode == 2 and result.stdout == ""
    assert_one_line_error(result.returncode, result.stderr, "model.safetensors",
                          "not a readable safetensors file")
    assert not (tmp_path / "pwned").exists()


# Every config field and every family's declared setting is an option


def config_fields() -> dict[str, object]:
    """Name -> default of every TrainConfig field and every model setting any family declares."""
    fields = {spec.name: spec.default for spec in dataclasses.fields(TrainConfig)}
    fields.update({setting.name: setting.default
                   for setting in [*COMMON_SETTINGS, *all_settings().values()]})
    return fields


def test_every_config_field_is_an_option(capsys):
    code, help_text, _ = run_main(capsys, "train", "--help")
    assert code == 0
    assert "--family" in help_text and "--sparsity-weight" in help_text
    for name in config_fields():
        assert "--" + name.replace("_", "-") in help_text, name
    # The help of a setting is its declaration's one line.
    assert "KL weight (Higgins et al. 2017)" in " ".join(help_text.split())


def test_every_option_reaches_its_field():
    parser = build_parser()
    for name, default in config_fields().items():
        if isinstance(default, tuple):
            given, expected = ["1", "2"], [1, 2]
        elif isinstance(default, bool) or not isinstance(default, int | float | str):
            pytest.fail(f"{name}: no test value for {type(default).__name__}")
        elif isinstance(default, str):
            given, expected = ["x"], "x"
        else:
            given, expected = ["3"], type(default)(3)
        option = "--" + name.replace("_", "-")
        args = parser.parse_args(["train", "--out", "m.safetensors", option, *given])
        assert getattr(args, name) == expected, name


def test_a_setting_of_another_family_is_refused(tmp_path, capsys):
    code, _, err = run_main(capsys, "train", "--family", "conv_ae", "--hidden-sizes", "32",
                            "--out", str(tmp_path / "m.safetensors"))
    assert code == 2
    assert "family conv_ae has no setting hidden_sizes; its settings: conv_channels" in err


def test_families_lists_every_family_and_preset(capsys):
    code, out, _ = run_main(capsys, "families")
    assert code == 0
    names = [line.split()[0] for line in out.splitlines()]
    assert names == [*REGISTRY, *PRESETS]


# User mistakes: one line on stderr, a non-zero exit, no traceback


@pytest.fixture
def existing(tmp_path: Path) -> Path:
    torch.manual_seed(0)
    model = build_model(ModelConfig(family="ae", latent_dim=2, hidden_sizes=(16,)))
    return save_checkpoint(tmp_path / "existing.safetensors", model, TrainConfig(epochs=1))


def test_missing_checkpoint(capsys, tmp_path: Path):
    code, out, err = run_main(capsys, "evaluate", str(tmp_path / "nothing.safetensors"))
    assert_one_line_error(code, err, "nothing.safetensors", "file not found")
    assert out == ""


@pytest.mark.parametrize("content", [b"not a checkpoint", b""], ids=["text", "empty"])
def test_not_a_checkpoint(capsys, tmp_path: Path, content: bytes):
    path = tmp_path / "notes.safetensors"
    path.write_bytes(content)
    code, _, err = run_main(capsys, "evaluate", str(path))
    assert_one_line_error(code, err, "notes.safetensors")


def test_existing_out_without_overwrite(capsys, existing: Path):
    before = existing.read_bytes()
    code, _, err = run_main(capsys, "train", "--family", "ae", "--epochs", "1",
                            "--out", str(existing))
    assert_one_line_error(code, err, "exists", "--overwrite")
    assert existing.read_bytes() == before


def test_overwrite_replaces_the_checkpoint(capsys, existing: Path, cached_embedded):
    code, out, err = run_main(capsys, "train", "--family", "ae", "--latent-dim", "3",
                              "--hidden-sizes", "16", "--epochs", "1", "--batch-size", "512",
                              "--out", str(existing), "--overwrite")
    assert code == 0, err
    assert "saved" in out and "epoch 1/1" in err
    assert read_metadata(existing)["model_config"]["latent_dim"] == 3


def test_overwrite_keeps_the_old_file_when_the_run_blows_up(capsys, existing: Path,
                                                          cached_embedded, monkeypatch):
    from ae_core import cli
    from tests.test_train import BlowUp

    def blowing_up(model_config, train_config, callbacks=(), **options):
        return train_model(model_config, train_config, [*callbacks, BlowUp(epoch=1)], **options)

    monkeypatch.setattr(cli, "train_model", blowing_up)
    before = existing.read_bytes()
    code, out, err = run_main(capsys, "train", "--family", "ae", "--latent-dim", "3",
                              "--hidden-sizes", "16", "--epochs", "2", "--batch-size", "512",
                              "--out", str(existing), "--overwrite")
    assert code == 1, err
    assert "the run blew up: kept the weights of epoch 1" in err
    assert "is kept as it was" in err
    assert existing.read_bytes() == before
    beside = existing.with_name("existing-2.safetensors")
    assert beside.exists() and f"saved {beside}" in out
    assert read_metadata(beside)["info"]["best_epoch"] == 1


@pytest.mark.parametrize("args, fragments", [
    (["--family", "gan"], ["unknown model family 'gan'", "conv_vae", "beta_vae"]),
    (["--latent-dim", "0"], ["latent_dim=0"]),
    (["--latent-dim", "1.5"], ["--latent-dim", "invalid int value"]),
    (["--epochs", "many"], ["--epochs", "'many'"]),
    (["--recon-loss", "l1"], ["recon_loss='l1'", "bce, mse"]),
    (["--lr-schedule", "warm"], ["lr_schedule='warm'"]),
    (["--noise-kind", "gaussian"], ["noise_level"]),
    (["--val-fraction", "1.5"], ["val_fraction=1.5"]),
    (["--hidden-sizes", "wide"], ["--hidden-sizes", "'wide'"]),
    (["--no-such-option", "3"], ["unrecognized arguments", "--no-such-option"]),
    (["--dataset", "/no/such/folder"], ["unknown dataset", "/no/such/folder"]),
], ids=["family", "latent-dim-0", "latent-dim-float", "epochs", "recon-loss", "lr-schedule",
        "noise-level", "val-fraction", "hidden-sizes", "unknown-option", "dataset"])
def test_bad_train_options(capsys, tmp_path: Path, cached_embedded, args, fragments):
    out = tmp_path / "x.safetensors"
    code, stdout, err = run_main(capsys, "train", "--epochs", "1", "--out", str(out), *args)
    assert_one_line_error(code, err, *fragments)
    assert not out.exists() and stdout == ""


def test_out_must_be_safetensors(capsys, tmp_path: Path):
    code, _, err = run_main(capsys, "train", "--out", str(tmp_path / "model.pt"))
    assert_one_line_error(code, err, "must end in .safetensors")


def test_out_in_an_unwritable_place(capsys, tmp_path: Path, cached_embedded):
    blocker = tmp_path / "file"
    blocker.write_text("a file, not a folder")
    code, _, err = run_main(capsys, "train", "--family", "ae", "--latent-dim", "2",
                            "--hidden-sizes", "8", "--epochs", "1", "--batch-size", "1024",
                            "--out", str(blocker / "x.safetensors"))
    assert_one_line_error(code, err, str(blocker))  # at once, before any training


def test_a_missing_command(capsys):
    code, _, err = run_main(capsys)
    assert_one_line_error(code, err, "required")


@pytest.mark.parametrize("args, fragments", [
    (["--denoise-sigma", "2"], ["noise level 2.0", "[0, 1]"]),
    (["--denoise-sigma", "loud"], ["--denoise-sigma", "'loud'"]),
    (["--dataset", "kmnist"], ["unknown dataset 'kmnist'"]),
], ids=["sigma-range", "sigma-text", "dataset"])
def test_bad_evaluate_options(capsys, existing: Path, cached_embedded, args, fragments):
    code, out, err = run_main(capsys, "evaluate", str(existing), *args)
    assert_one_line_error(code, err, *fragments)
    assert out == ""


# Scoring against the right digits


def test_pca_and_probes_never_see_the_held_out_digits(cached_embedded):
    config = TrainConfig(seed=3, val_fraction=0.2, exclude_classes=(9,))
    train = _training_digits(EMBEDDED, config)
    held_out = evaluation_set(EMBEDDED, 3, 0.2, (9,))
    keys = lambda d: {row.tobytes() for row in d.images.flatten(1).numpy()}  # noqa: E731
    assert not keys(train) & keys(held_out)
    assert len(train) + len(held_out) == 5000 and not (train.labels == 9).any()
    # A folder dataset that is gone: evaluation goes on without the baseline.
    assert _training_digits(EMBEDDED, dataclasses.replace(config, dataset="/gone")) is not None
    assert _training_digits("/some/test/folder", dataclasses.replace(config,
                                                                     dataset="/gone")) is None


def test_evaluate_model(digits: Dataset, embedded: Dataset):
    torch.manual_seed(0)
    model = build_model(ModelConfig(family="vae", latent_dim=4, hidden_sizes=(64,)))
    order = torch.randperm(len(embedded), generator=torch.Generator().manual_seed(0))
    train = embedded.subset(order[:1500])
    fit(model, train, None, TrainConfig(epochs=3, batch_size=64, lr=3e-3, device="cpu"))
    metrics = evaluate_model(model, digits, train, probes=True, denoise_sigma=0.5)
    assert metrics["test_digits"] == 200 and metrics["pca_components"] == 4
    with torch.inference_mode():
        images = digits.float_images()
        errors = (model.reconstruct(images) - images).pow(2).flatten(1).mean(1)
    assert metrics["mse_per_pixel"] == pytest.approx(float(errors.mean()), rel=1e-5)
    assert metrics["psnr_db"] == pytest.approx(float((-10 * errors.log10()).mean()), rel=1e-5)
    assert metrics["mse_ratio_to_pca"] == pytest.approx(
        metrics["mse_per_pixel"] / metrics["pca_mse_per_pixel"])
    assert 0.3 < metrics["linear_probe_accuracy"] <= 1 and 0.3 < metrics["knn_accuracy"] <= 1
    assert metrics["noisy_psnr_db"] < metrics["denoised_psnr_db"]
    assert {"recon_loss", "kl_loss", "neg_elbo"} <= set(metrics) and "loss" not in metrics
    assert evaluate_model(model, digits) == pytest.approx(
        {k: v for k, v in metrics.items() if k in evaluate_model(model, digits)})


def test_quality_without_out_prints_the_other_datasets_section(capsys, monkeypatch):
    """The printed tables are the --out page's: the Fashion-MNIST models' section included."""
    from ae_core import quality
    from ae_core.quality import QualityReport, QualityRow

    def report(name: str, model: str, others=()) -> QualityReport:
        row = QualityRow(model, "ae", 32, f"{name}/train", "1 epochs",
                         {"mse_per_pixel": 0.01, "psnr_db": 20.0}, (name, 32))
        return QualityReport([row], {}, f"{name}-test", 100, 1.0, others=list(others))

    scored = report("mnist", "ae_32", [report("fashion-mnist", "fashion_conv_ae_32")])
    monkeypatch.setattr(quality, "load_test_set", lambda source: None)
    monkeypatch.setattr(quality, "quality_report", lambda *args, **kwargs: scored)
    code, out, _ = run_main(capsys, "quality", "--checkpoints", "checkpoints")
    assert code == 0
    assert "| `ae_32` | ae | 32 |" in out
    assert "## Models of another dataset: fashion-mnist-test" in out
    assert out.index("`ae_32`") < out.index("fashion-mnist-test") < out.index(
        "| `fashion_conv_ae_32` | ae | 32 |")


def test_train_fits_a_vqvaes_code_prior_as_its_option_says(capsys, tmp_path, cached_embedded):
    """--code-prior-epochs comes from the VQ-VAE's declaration; each epoch of the fit gets a
    line, its figures close the run, and the checkpoint carries the prior."""
    out = tmp_path / "vq.safetensors"
    code, stdout, err = run_main(
        capsys, "train", "--family", "vqvae", "--latent-dim", "2", "--conv-channels", "4", "8",
        "--codebook-size", "8", "--code-prior-epochs", "1", "--epochs", "1",
        "--batch-size", "256", "--exclude-classes", *map(str, range(1, 10)), "--device", "cpu",
        "--out", str(out))
    assert code == 0, err
    assert "fitting the code prior: epoch 1/1 · " in err and "bits per position (train)" in err
    assert "after training: prior_bits_per_position=" in stdout
    checkpoint = load_checkpoint(out)
    assert checkpoint.model_config.code_prior_epochs == 1
    assert checkpoint.model.code_prior is not None
    assert "independent_bits_per_position" in checkpoint.metrics


def test_a_model_that_kept_no_validation_split_is_told_to_name_a_test_set(capsys, tmp_path):
    config = ModelConfig(family="ae", latent_dim=2, hidden_sizes=(16,))
    path = tmp_path / "all_digits.safetensors"
    save_checkpoint(path, build_model(config), TrainConfig(val_fraction=0.0))
    code, _, err = run_main(capsys, "evaluate", str(path))
    assert code == 2 and "Traceback" not in err
    assert "kept no validation split" in err and "--dataset" in err and "\n" not in err.strip()


@pytest.mark.slow
def test_a_fashion_model_is_evaluated_mapped_and_sampled_on_its_own_kind(capsys, tmp_path):
    """No --dataset: evaluate, map and sample default to the model's own kind of images (a
    clothes model trained on all 60,000 of Fashion-MNIST's training images, no validation
    split) where they used to default to the embedded digits and fail."""
    if not data.set_available("fashion-test"):
        pytest.skip("Fashion-MNIST is not on this machine")
    path = ROOT / "checkpoints" / "fashion_conv_ae_32.safetensors"
    assert load_checkpoint(path).train_config.val_fraction == 0.0
    code, out, err = run_main(capsys, "evaluate", str(path))
    assert code == 0, err
    assert out.splitlines()[0].endswith("on fashion-mnist-test, 10000 clothes")
    table = tmp_path / "map.csv"
    code, out, err = run_main(capsys, "map", str(path), "--points", "300", "--out", str(table))
    assert code == 0, err
    assert "300 images of fashion-mnist-test" in out
    classes = {line.split(",")[2] for line in table.read_text().splitlines()[1:]}
    assert classes <= set(data.FASHION_CLASSES) and len(classes) > 5
    picture = tmp_path / "samples.png"
    code, out, err = run_main(capsys, "sample", str(path), "--n", "4", "--out", str(picture))
    assert code == 0, err
    assert picture.read_bytes().startswith(b"\x89PNG")
