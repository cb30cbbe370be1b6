"""The Bottleneck effect page under AppTest, on small real checkpoints."""

from __future__ import annotations

import json

from tests.pages import numbers, open_page


def test_bottleneck_plots_every_model_beside_pca(checkpoint_dir, monkeypatch):
    at = open_page("app_pages/bottleneck.py", checkpoint_dir, monkeypatch, "tiny_plain")
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    names = [trace["name"] for trace in spec["data"]]
    assert names[0] == "PCA (same size)"
    # Families by their names, not their internal ids ("ae", "cvae").
    assert {"MLP autoencoder", "MLP autoencoder denoising",
            "Conditional VAE (also given the label)"} <= set(names)
    pca = spec["data"][0]["y"]
    assert all(a > b for a, b in zip(pca, pca[1:], strict=False))  # more components, less error
    table = at.dataframe[0].value
    assert set(table["latent size"]) >= {2, 6, 8} and (table["MSE / pixel"] > 0).all()
    assert (table["vs PCA"] > 0).all()


def test_a_sweep_adds_its_curve_and_can_be_cleared(checkpoint_dir, monkeypatch):
    at = open_page("app_pages/bottleneck.py", checkpoint_dir, monkeypatch, "tiny_plain")
    rows_before = len(at.dataframe[0].value)
    at.multiselect(key="bottleneck_sizes").set_value([2, 4])
    at.slider(key="bottleneck_epochs").set_value(1)
    at.checkbox(key="bottleneck_linear").check()
    at.button(key="FormSubmitter:bottleneck_form-Train and score").click().run()
    assert not at.exception
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    sweep = next(trace for trace in spec["data"] if trace["name"].startswith("sweep:"))
    assert (sweep["name"] == "sweep: Linear autoencoder, 1 epochs, digits"
            and numbers(sweep["x"]) == [2, 4])
    table = at.dataframe[0].value
    assert len(table) == rows_before + 2
    angles = table[table["model"] == sweep["name"]]["largest angle to PCA"]
    assert angles.str.removesuffix("°").astype(float).between(0, 90).all()  # measured, linear
    # The other rows have no angle, and say so with a dash rather than "None".
    others = table[table["model"] != sweep["name"]]["largest angle to PCA"]
    assert (others == "—").all()
    at.button(key="bottleneck_clear").click().run()
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert not any(trace["name"].startswith("sweep:") for trace in spec["data"])


def test_an_empty_sweep_is_refused(checkpoint_dir, monkeypatch):
    at = open_page("app_pages/bottleneck.py", checkpoint_dir, monkeypatch, "tiny_plain")
    at.multiselect(key="bottleneck_sizes").set_value([])
    at.button(key="FormSubmitter:bottleneck_form-Train and score").click().run()
    assert not at.exception and at.error[0].value == "Pick at least one latent size."


def test_the_same_images_are_rebuilt_at_each_size_beside_pca(checkpoint_dir, monkeypatch):
    at = open_page("app_pages/bottleneck.py", checkpoint_dir, monkeypatch, "tiny_plain")
    assert not at.exception, at.exception
    (grid,) = [image for image in at.get("image") if "PCA, " in image.proto.imgs[0].caption]
    caption = grid.proto.imgs[0].caption
    # The active model's line at each of its sizes (tiny_plain and tiny_map have 6 numbers,
    # the denoising line is another), each beside PCA with as many components.
    assert caption.startswith("MLP autoencoder, row by row: the images; ")
    assert "autoencoder, 6 numbers; PCA, 6 components" in caption
    assert at.get("download_button")[0].proto.label == "PNG for a projector"


def test_rebuilt_by_size_puts_each_model_beside_pca_with_as_many_components(digits):
    import torch

    from ae_core.figures.lecture import rebuilt_by_size
    from ae_core.metrics import pca_reconstruction
    from ae_core.models import REGISTRY
    from tests.conftest import family_config

    torch.manual_seed(0)
    models = {size: REGISTRY["ae"](family_config("ae", latent_dim=size, hidden_sizes=(16,)))
              for size in (2, 5)}
    images = digits.float_images()[:4]
    grid, names = rebuilt_by_size(images, models, digits.float_images())
    assert grid.shape == (4 * 5, 1, 28, 28)
    assert names == ["the images", "autoencoder, 2 numbers", "PCA, 2 components",
                     "autoencoder, 5 numbers", "PCA, 5 components"]
    torch.testing.assert_close(grid[:4], images)
    torch.testing.assert_close(grid[4:8], models[2].eval().reconstruct(images))
    pca = pca_reconstruction(digits.float_images().flatten(1).double().numpy(),
                             images.flatten(1).double().numpy(), 5)
    torch.testing.assert_close(grid[16:20].flatten(1),
                               torch.from_numpy(pca).float().clamp(0, 1))
