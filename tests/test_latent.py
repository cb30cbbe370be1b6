"""Latent tools, input corruptions and pictures, on real digits and small real models."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest
import torch
from PIL import Image, ImageSequence

from ae_core.config import ModelConfig
from ae_core.data import Dataset
from ae_core.figures import grid_array, grid_png, image_png, strip_gif, to_uint8
from ae_core.latent import (
    code_ranges,
    decode_codes,
    dimension_importance,
    encode_dataset,
    interpolate,
    interpolate_pixels,
    manifold_grid,
    nearest_neighbours,
    traverse,
)
from ae_core.models import Autoencoder, build_model
from ae_core.noise import corrupt

NOISE = ("gaussian", "salt_pepper", "mask")


def small_model(family: str, latent_dim: int = 3) -> Autoencoder:
    torch.manual_seed(0)
    return build_model(ModelConfig(family=family, latent_dim=latent_dim, hidden_sizes=(32,)))


def random_codes(count: int, dim: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(count, dim, generator=torch.Generator().manual_seed(seed))


# noise.py


@pytest.mark.parametrize("kind", ("none", *NOISE))
def test_level_zero_is_the_identity(kind, batch):
    x, _ = batch
    out = corrupt(x, kind, 0.0)
    assert torch.equal(out, x) and out is not x
    if kind == "none":
        assert torch.equal(corrupt(x, kind, 0.7), x)


@pytest.mark.parametrize("level", [0.1, 0.5, 1.0])
@pytest.mark.parametrize("kind", NOISE)
def test_corruptions_stay_in_range_and_change_the_image(kind, level, batch):
    x, _ = batch
    out = corrupt(x, kind, level, torch.Generator().manual_seed(0))
    assert out.shape == x.shape and out.dtype == x.dtype
    assert 0 <= float(out.min()) and float(out.max()) <= 1
    assert not torch.equal(out, x)
    if kind != "mask":  # a mask may land on the black background and change nothing
        assert (out != x).flatten(1).any(dim=1).all()  # every image, not just the batch
    again = corrupt(x, kind, level, torch.Generator().manual_seed(0))
    assert torch.equal(out, again)  # a seed gives the same noise


def test_gaussian_noise_has_the_requested_std():
    grey = torch.full((64, 1, 28, 28), 0.5)
    out = corrupt(grey, "gaussian", 0.1, torch.Generator().manual_seed(0))
    difference = out - grey  # 5 std from either bound: no clamping
    assert abs(float(difference.std()) - 0.1) < 0.005 and abs(float(difference.mean())) < 0.005


def test_salt_and_pepper_sets_a_fraction_of_pixels_to_black_or_white():
    grey = torch.full((64, 1, 28, 28), 0.5)
    out = corrupt(grey, "salt_pepper", 0.3, torch.Generator().manual_seed(0))
    hit = out != 0.5
    assert abs(float(hit.float().mean()) - 0.3) < 0.01
    assert set(out[hit].unique().tolist()) == {0.0, 1.0}
    assert abs(float((out[hit] == 1).float().mean()) - 0.5) < 0.03


@pytest.mark.parametrize("level, side", [(0.25, 14), (0.05, 6), (1.0, 28)])
def test_mask_zeroes_one_square_block_per_image(level, side):
    white = torch.ones(32, 1, 28, 28)
    out = corrupt(white, "mask", level, torch.Generator().manual_seed(0))
    for image in out[:, 0]:
        rows, cols = (image == 0).nonzero(as_tuple=True)
        assert len(rows) == side * side
        assert int(rows.max() - rows.min()) + 1 == side == int(cols.max() - cols.min()) + 1
    corners = {(int((img == 0).nonzero()[0, 0]), int((img == 0).nonzero()[0, 1]))
               for img in out[:, 0]}
    assert len(corners) > 1 or side == 28  # the block moves from image to image


def test_corrupt_refuses_bad_arguments(batch):
    x, _ = batch
    with pytest.raises(ValueError, match="blur"):
        corrupt(x, "blur", 0.1)
    with pytest.raises(ValueError, match="must be in"):
        corrupt(x, "gaussian", 1.5)
    with pytest.raises(ValueError, match="must be in"):
        corrupt(x, "mask", -0.1)


# latent.py: encoding a dataset


def test_encode_dataset(digits: Dataset):
    model = small_model("vae").train()
    images, labels = digits.float_images(), digits.labels
    seen: list[float] = []
    encoded = encode_dataset(model, images, labels, batch_size=64, progress=seen.append)
    assert encoded.codes.shape == (200, 3) and encoded.errors.shape == (200,)
    assert torch.equal(encoded.labels, labels)
    assert seen == pytest.approx([64 / 200, 128 / 200, 192 / 200, 1.0])
    with torch.inference_mode():
        model.eval()
        codes = model.embed(images)
        errors = (model.decode(codes) - images).pow(2).flatten(1).mean(dim=1)
    torch.testing.assert_close(encoded.codes, codes)  # the deterministic code
    torch.testing.assert_close(encoded.errors, errors)


def test_batched_encoding_of_uint8_images_equals_one_batch_of_floats(digits: Dataset):
    """What a 70,000-image map relies on: batches of 7 straight from the uint8 images give
    exactly the codes and errors of one float batch holding every image."""
    torch.manual_seed(0)
    model = build_model(ModelConfig(family="conv_ae", latent_dim=3))
    whole = encode_dataset(model, digits.float_images(), digits.labels, batch_size=len(digits))
    batched = encode_dataset(model, digits.images, digits.labels, batch_size=7)
    torch.testing.assert_close(batched.codes, whole.codes)
    torch.testing.assert_close(batched.errors, whole.errors)
    with pytest.raises(ValueError, match="batch_size"):
        encode_dataset(model, digits.images, digits.labels, batch_size=0)


def test_encode_dataset_leaves_the_mode_as_it_found_it(digits: Dataset):
    model = small_model("ae").train()
    encode_dataset(model, digits.float_images()[:10], digits.labels[:10])
    assert model.training
    encode_dataset(model.eval(), digits.float_images()[:10], digits.labels[:10])
    assert not model.training


# latent.py: paths through the code space


@pytest.mark.parametrize("method", ["linear", "slerp"])
def test_interpolation_ends_are_the_endpoints(method):
    z0, z1 = random_codes(2, 6)
    path = interpolate(z0, z1, 7, method)
    assert path.shape == (7, 6)
    assert torch.equal(path[0], z0) and torch.equal(path[-1], z1)
    assert torch.isfinite(path).all()
    steps = (path[1:] - path[:-1]).norm(dim=1)
    assert steps.min() > 0  # the path moves at every step


def test_linear_interpolation_is_evenly_spaced():
    z0, z1 = random_codes(2, 4)
    path = interpolate(z0, z1, 5)
    torch.testing.assert_close(path[2], (z0 + z1) / 2)
    torch.testing.assert_close(path[1:] - path[:-1], ((z1 - z0) / 4).expand(4, -1))


def test_slerp_keeps_norms_between_the_ends():
    generator = torch.Generator().manual_seed(0)
    for trial in range(200):
        dim = 2 + trial % 15
        scale0, scale1 = torch.rand(2, generator=generator) * 5 + 0.05
        z0 = torch.randn(dim, generator=generator) * scale0
        z1 = torch.randn(dim, generator=generator) * scale1
        norms = interpolate(z0, z1, 11, "slerp").norm(dim=1)
        low, high = sorted([float(z0.norm()), float(z1.norm())])
        assert low - 1e-5 <= float(norms.min()) and float(norms.max()) <= high + 1e-5, trial
        middle = interpolate(z0, z1, 11, "linear")[5].norm()
        if z0 @ z1 < 0:  # a straight line cuts through the middle; the arc does not
            assert float(norms[5]) > float(middle)


def test_slerp_follows_the_great_circle_of_unit_vectors():
    z0, z1 = torch.tensor([1.0, 0.0, 0.0]), torch.tensor([0.0, 1.0, 0.0])
    path = interpolate(z0, z1, 5, "slerp")
    angles = torch.atan2(path[:, 1], path[:, 0])
    torch.testing.assert_close(angles, torch.linspace(0, math.pi / 2, 5))
    torch.testing.assert_close(path.norm(dim=1), torch.ones(5))


@pytest.mark.parametrize("case", ["opposite", "nearly opposite", "same direction", "parallel",
                                  "zero", "one dimension"])
def test_slerp_edge_cases_stay_finite(case):
    z = random_codes(1, 8)[0]
    z0, z1 = {
        "opposite": (z, -z),
        "nearly opposite": (z, -z + 1e-4),
        "same direction": (z, z.clone()),
        "parallel": (z, 3 * z),
        "zero": (torch.zeros(8), z),
        "one dimension": (torch.tensor([2.0]), torch.tensor([-1.0])),
    }[case]
    path = interpolate(z0, z1, 9, "slerp")
    assert torch.isfinite(path).all()
    assert torch.equal(path[0], z0) and torch.equal(path[-1], z1)
    norms = path.norm(dim=1)
    if case in ("opposite", "nearly opposite", "same direction", "parallel"):
        low, high = sorted([float(z0.norm()), float(z1.norm())])
        assert low - 1e-4 <= float(norms.min()) and float(norms.max()) <= high + 1e-4


def test_interpolation_refuses_bad_arguments():
    z0, z1 = random_codes(2, 3)
    with pytest.raises(ValueError, match="at least 2"):
        interpolate(z0, z1, 1)
    with pytest.raises(ValueError, match="linear, slerp"):
        interpolate(z0, z1, 5, "cubic")


def test_interpolate_pixels(digits: Dataset):
    x0, x1 = digits.float_images()[0], digits.float_images()[100]
    fade = interpolate_pixels(x0, x1, 5)
    assert fade.shape == (5, 1, 28, 28)
    assert torch.equal(fade[0], x0) and torch.equal(fade[-1], x1)
    torch.testing.assert_close(fade[2], (x0 + x1) / 2)


def test_traverse_sweeps_one_dimension():
    z = random_codes(1, 5)[0]
    values = torch.linspace(-2, 2, 7)
    codes = traverse(z, 3, values)
    assert codes.shape == (7, 5)
    assert torch.equal(codes[:, 3], values)
    others = [0, 1, 2, 4]
    assert torch.equal(codes[:, others], z[others].expand(7, -1))
    assert torch.equal(z, random_codes(1, 5)[0])  # the input is untouched
    for bad in (5, -1):
        with pytest.raises(ValueError, match="outside 0..4"):
            traverse(z, bad, values)


def test_code_ranges_cover_the_codes():
    codes = random_codes(2000, 4) * torch.tensor([1.0, 5.0, 0.1, 1.0])
    codes[:, 3] = codes[:, 3].relu()  # a ReLU code: never below 0, a long upper tail
    low, high = code_ranges(codes)
    assert low.shape == high.shape == (4,) and (low < high).all()
    inside = ((codes >= low) & (codes <= high)).float().mean(dim=0)
    assert (inside >= 0.99).all(), inside  # at least the central 99 %, skewed codes too
    std, mean = codes.std(dim=0, unbiased=False), codes.mean(dim=0)
    gaussian = slice(0, 3)  # widened at most to 3 std
    assert (high[gaussian] <= mean[gaussian] + 3 * std[gaussian] + 2e-3).all()
    assert (low[gaussian] >= mean[gaussian] - 3 * std[gaussian] - 2e-3).all()
    assert low[3] > -0.5 * std[3]  # hardly below what the ReLU code reaches
    widths = high - low
    assert widths[1] > 10 * widths[2]  # each dimension gets its own range
    with_outliers = torch.cat([random_codes(1000, 1), torch.full((3, 1), 1000.0)])
    assert float(code_ranges(with_outliers)[1][0]) < 5  # a few wild codes do not stretch it
    constant_low, constant_high = code_ranges(torch.full((50, 2), 3.0))
    assert (constant_low < 3).all() and (constant_high > 3).all()
    assert (constant_high - constant_low < 0.01).all()


def test_nearest_neighbours():
    codes = random_codes(100, 3)
    nearest = nearest_neighbours(codes, codes[17], 5)
    assert nearest.shape == (5,) and int(nearest[0]) == 17
    distances = (codes - codes[17]).norm(dim=1)
    assert torch.equal(distances[nearest], distances.sort().values[:5])
    assert len(nearest_neighbours(codes[:3], codes[0], 10)) == 3


def test_manifold_grid():
    grid = manifold_grid((-1.0, -2.0), (1.0, 2.0), 5)
    assert grid.shape == (25, 2)
    torch.testing.assert_close(grid[0], torch.tensor([-1.0, 2.0]))  # top left: high y
    torch.testing.assert_close(grid[4], torch.tensor([1.0, 2.0]))
    torch.testing.assert_close(grid[-1], torch.tensor([1.0, -2.0]))
    torch.testing.assert_close(grid[:5, 0], torch.linspace(-1, 1, 5))
    torch.testing.assert_close(grid[::5, 1], torch.linspace(2, -2, 5))


@pytest.mark.parametrize("family", ["vae", "ae"])
def test_dimension_importance(family, digits: Dataset):
    model = small_model(family, latent_dim=4).eval()
    images, labels = digits.float_images(), digits.labels
    codes = encode_dataset(model, images, labels).codes
    importance = dimension_importance(model, images, labels, codes)
    assert importance.shape == (4,) and (importance >= 0).all()
    if family == "ae":
        torch.testing.assert_close(importance, codes.var(dim=0, unbiased=False))
    else:
        with torch.no_grad():  # collapse dimension 1 onto the prior: it carries nothing
            for layer in (model.to_mean, model.to_log_var):
                layer.weight[1], layer.bias[1] = 0.0, 0.0
        importance = dimension_importance(model, images, labels, codes)
        assert float(importance[1]) < 1e-6 and (importance[[0, 2, 3]] > 1e-4).all()


def test_decode_codes(digits: Dataset):
    model = small_model("ae")
    codes = random_codes(6, 3)
    images = decode_codes(model, codes)
    assert images.shape == (6, 1, 28, 28) and images.device.type == "cpu"
    assert 0 <= float(images.min()) and float(images.max()) <= 1
    cvae = small_model("cvae")
    as_three = decode_codes(cvae, codes, torch.tensor(3))
    as_seven = decode_codes(cvae, codes, torch.full((6,), 7))
    assert as_three.shape == (6, 1, 28, 28) and not torch.equal(as_three, as_seven)


# figures/images.py


def decode_png(data: bytes) -> Image.Image:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def test_image_png(digits: Dataset):
    digit = digits.float_images()[0]
    image = decode_png(image_png(digit, scale=4))
    assert image.size == (112, 112) and image.mode == "L"
    pixels = np.asarray(image)
    expected = to_uint8(digit)[0]
    assert np.array_equal(pixels[::4, ::4], expected)  # nearest-neighbour: crisp blocks
    assert np.array_equal(pixels[3::4, 3::4], expected)
    assert decode_png(image_png(digit[0], scale=1)).size == (28, 28)  # (28, 28) works too


def test_grid_png(digits: Dataset):
    images = digits.float_images()[:10]
    image = decode_png(grid_png(images, columns=4, scale=2, padding=2))
    rows, height, width = 3, 3 * 30 - 2, 4 * 30 - 2
    assert rows == 3 and image.size == (2 * width, 2 * height)
    canvas = grid_array(images, columns=4)
    assert canvas.shape == (height, width)
    assert np.array_equal(canvas[30:58, 60:88], to_uint8(images[6])[0])  # row 1, column 2
    assert (canvas[28:30, :] == 128).all()  # mid-grey padding
    assert (canvas[60:, 60:] == 128).all()  # the empty cells of the last row
    assert grid_array(images[:2], columns=8).shape == (28, 58)  # never wider than needed
    with pytest.raises(ValueError, match="no images"):
        grid_png(images[:0], columns=4)


@pytest.mark.parametrize("bounce, frames", [(True, 8), (False, 5)])
def test_strip_gif(digits: Dataset, bounce, frames):
    images = digits.float_images()[::40][:5]  # five different digits
    gif = Image.open(io.BytesIO(strip_gif(images, scale=3, frame_ms=80, bounce=bounce)))
    assert gif.format == "GIF" and gif.size == (84, 84)
    decoded = [np.asarray(frame.convert("L")) for frame in ImageSequence.Iterator(gif)]
    assert len(decoded) == frames
    order = [0, 1, 2, 3, 4, 3, 2, 1] if bounce else [0, 1, 2, 3, 4]
    for frame, index in zip(decoded, order, strict=True):
        expected = to_uint8(images[index])[0]
        assert np.abs(frame[::3, ::3].astype(int) - expected).max() <= 8  # GIF palette
    assert gif.info.get("duration") == 80 and gif.info.get("loop") == 0
