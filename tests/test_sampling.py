"""Sampling at a temperature with a seed, every family through the registry, and the CLI's
`sample` command writing a real PNG."""

from __future__ import annotations

import io

import pytest
import torch
from PIL import Image

from ae_core.checkpoint import save_checkpoint
from ae_core.cli import main
from ae_core.models import REGISTRY
from ae_core.models.aae import MIXTURE_COMPONENTS, mixture_means
from ae_core.sampling import FITTED, PRIOR, draw_codes, sample_digits
from tests.conftest import family_config

TINY = {"latent_dim": 4, "hidden_sizes": (16,), "conv_channels": (4, 8), "codebook_size": 8}


def tiny(family: str, **overrides):
    torch.manual_seed(0)
    return REGISTRY[family](family_config(family, **{**TINY, **overrides})).eval()


def real_codes(model, digits) -> torch.Tensor:
    with torch.inference_mode():
        return model.embed(digits.float_images(), digits.labels)


@pytest.mark.parametrize("family", sorted(REGISTRY))
def test_every_family_samples_with_a_seed(family, digits):
    model = tiny(family)
    codes = real_codes(model, digits)
    kwargs = {"digit_class": 3} if model.is_conditional else {}
    first = sample_digits(model, 6, 0.8, seed=5, codes=codes, **kwargs)
    again = sample_digits(model, 6, 0.8, seed=5, codes=codes, **kwargs)
    other = sample_digits(model, 6, 0.8, seed=6, codes=codes, **kwargs)
    assert first.images.shape == (6, 1, 28, 28)
    assert first.codes.shape == (6, model.latent_dim)
    assert 0.0 <= float(first.images.min()) and float(first.images.max()) <= 1.0
    torch.testing.assert_close(first.images, again.images)
    assert not torch.equal(first.codes, other.codes)
    assert first.source == (PRIOR if model.has_prior else FITTED)
    assert first.note


@pytest.mark.parametrize("family", sorted(name for name in REGISTRY if REGISTRY[name].has_prior))
def test_temperature_zero_is_the_priors_mode(family, digits):
    model = tiny(family)
    codes, _ = draw_codes(model, 5, temperature=0.0, seed=1)
    if model.family == "aae" and model.config.prior == "mixture":
        assert all(any(torch.allclose(code, mean) for mean in mixture_means(4)) for code in codes)
    elif model.has_codebook:
        mode = model.code_frequencies.argmax(dim=1)  # the most used entry per position
        torch.testing.assert_close(codes, model.codebook.weight[mode].flatten().expand(5, -1))
    else:
        torch.testing.assert_close(codes, torch.zeros_like(codes))


def test_temperature_scales_a_gaussian_prior():
    model = tiny("vae")
    one, _ = draw_codes(model, 400, 1.0, seed=2)
    half, _ = draw_codes(model, 400, 0.5, seed=2)
    torch.testing.assert_close(half, 0.5 * one)


def test_aae_mixture_mode_is_the_component_means():
    model = tiny("aae", prior="mixture")
    codes, _ = draw_codes(model, 50, 0.0, seed=0)
    assert len(torch.unique(codes, dim=0)) <= MIXTURE_COMPONENTS


def test_vqvae_temperature_sharpens_and_flattens_its_categorical_prior():
    model = tiny("vqvae")
    frequencies = torch.zeros_like(model.code_frequencies)
    frequencies[:, 0], frequencies[:, 1] = 0.7, 0.3  # entries 2.. never used
    model.code_frequencies.copy_(frequencies)

    def share_of_entry_0(temperature: float) -> float:
        codes, _ = draw_codes(model, 400, temperature, seed=0)
        entries = codes.view(400, model.positions, model.embedding_dim)
        return float(torch.isclose(entries, model.codebook.weight[0]).all(-1).float().mean())

    cold, prior, hot = share_of_entry_0(0.3), share_of_entry_0(1.0), share_of_entry_0(5.0)
    assert cold > 0.9 and abs(prior - 0.7) < 0.05 and 0.5 < hot < 0.6
    codes, _ = draw_codes(model, 400, 5.0, seed=0)
    used = codes.view(400, model.positions, model.embedding_dim)
    assert torch.isclose(used[..., None, :], model.codebook.weight[:2]).all(-1).any(-1).all()


def test_no_prior_needs_codes_and_fits_a_gaussian(digits):
    model = tiny("ae")
    with pytest.raises(ValueError, match="has no prior"):
        draw_codes(model, 4)
    codes = real_codes(model, digits)
    mean, _ = draw_codes(model, 3, 0.0, codes=codes)
    torch.testing.assert_close(mean, codes.mean(0).expand(3, -1))
    samples = sample_digits(model, 4, codes=codes)
    assert samples.source == FITTED and "has no prior" in samples.note


def test_a_conditional_model_gets_one_row_per_class():
    model = tiny("cvae")
    samples = sample_digits(model, 0, seed=3, every_class=True, columns=5)
    classes = model.config.num_classes
    assert samples.images.shape == (classes * 5, 1, 28, 28) and samples.columns == 5
    assert samples.labels.tolist() == [c for c in range(classes) for _ in range(5)]
    torch.testing.assert_close(samples.codes[:5], samples.codes[5:10])  # one style per column
    with pytest.raises(ValueError, match="choose a class"):
        sample_digits(model, 4)


def test_bad_temperature_and_count():
    model = tiny("vae")
    for temperature in (-1.0, float("nan")):
        with pytest.raises(ValueError, match="temperature"):
            draw_codes(model, 2, temperature)
    with pytest.raises(ValueError, match="count"):
        draw_codes(model, 0)


def test_cli_sample_writes_a_png_grid(tmp_path, capsys):
    path = tmp_path / "vae.safetensors"
    save_checkpoint(path, tiny("vae"))
    out = tmp_path / "grids" / "grid.png"
    code = main(["sample", str(path), "--n", "12", "--seed", "4", "--temperature", "0.7",
                 "--scale", "1", "--out", str(out)])
    assert code == 0 and "wrote" in capsys.readouterr().out
    image = Image.open(io.BytesIO(out.read_bytes()))
    assert image.format == "PNG" and image.size == (4 * 30 - 2, 3 * 30 - 2)
    first = out.read_bytes()
    main(["sample", str(path), "--n", "12", "--seed", "4", "--temperature", "0.7",
          "--scale", "1", "--out", str(out)])
    assert out.read_bytes() == first  # the same seed, the same grid


def test_cli_sample_user_mistakes_are_one_line(tmp_path, capsys):
    path = tmp_path / "cvae.safetensors"
    save_checkpoint(path, tiny("cvae"))
    for args, fragment in (
            ([str(tmp_path / "missing.safetensors")], "not found"),
            ([str(path), "--class", "12"], "choose a class"),
            ([str(path), "--temperature", "-1"], "temperature"),
            ([str(path), "--out", str(tmp_path / "grid.jpg")], "must end in .png")):
        code = main(["sample", *args, "--out", str(tmp_path / "grid.png")] if "--out" not in args
                    else ["sample", *args])
        err = capsys.readouterr().err
        assert code == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1, err
        assert fragment in err, err
    (tmp_path / "broken.safetensors").write_bytes(b"not a checkpoint")
    assert main(["sample", str(tmp_path / "broken.safetensors"), "--out",
                 str(tmp_path / "grid.png")]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
    assert main(["sample", str(path), "--out", str(tmp_path / "every.png"), "--n", "3"]) == 0
    assert Image.open(tmp_path / "every.png").size == ((3 * 30 - 2) * 3, (10 * 30 - 2) * 3)
