"""The Denoising page under AppTest, on small real checkpoints (one trained on noisy digits)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.pages import all_urls, open_page


def test_denoising_compares_models_side_by_side(checkpoint_dir, monkeypatch):
    at = open_page("app_pages/denoise.py", checkpoint_dir, monkeypatch, "tiny_plain")
    assert at.multiselect(key="denoise_models").value == ["shipped: tiny_plain",
                                                          "shipped: tiny_dae"]
    headers = [markdown.value for markdown in at.markdown if markdown.value.startswith("**")]
    assert headers[:4] == ["**Clean**", "**Gaussian noise 0.30**", "**tiny_plain**",
                           "**tiny_dae**"]
    assert len(at.get("image")) == 4
    table = at.dataframe[0].value
    assert len(table) == 6 + 1 and table["digit"].iloc[-1] == "average"
    assert {"tiny_plain PSNR", "tiny_plain SSIM", "tiny_dae PSNR", "tiny_dae SSIM"} <= set(
        table.columns)
    assert table["tiny_dae PSNR"].iloc[-1] == pytest.approx(table["tiny_dae PSNR"][:-1].mean())
    curve = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert [trace["name"] for trace in curve["data"]] == [
        "corrupted input (300 digits)", "tiny_plain", "tiny_dae"]


def test_changing_the_corruption_changes_the_rows(checkpoint_dir, monkeypatch):
    at = open_page("app_pages/denoise.py", checkpoint_dir, monkeypatch, "tiny_plain")
    before_images, before_table = all_urls(at), at.dataframe[0].value
    at.radio(key="denoise_kind").set_value("mask").run()
    assert all_urls(at)[0] == before_images[0]  # the same clean digits
    assert all_urls(at)[1] != before_images[1]  # corrupted differently
    after_table = at.dataframe[0].value
    assert not np.allclose(after_table["corrupted PSNR"], before_table["corrupted PSNR"])
    curve = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert curve["layout"]["xaxis"]["title"]["text"] == "Masked block level"
    at.slider(key="denoise_level_mask").set_value(0.5).run()
    harder = at.dataframe[0].value
    assert harder["corrupted PSNR"].iloc[-1] < after_table["corrupted PSNR"].iloc[-1]
    at.button(key="denoise_reroll").click().run()
    assert all_urls(at)[0] != before_images[0]  # other digits


def test_denoising_without_models_says_what_to_do(checkpoint_dir, monkeypatch):
    at = open_page("app_pages/denoise.py", checkpoint_dir, monkeypatch, "tiny_plain")
    at.multiselect(key="denoise_models").set_value([]).run()
    assert not at.exception and any("Pick at least one model" in i.value for i in at.info)
    assert not at.get("image")


def test_gaussian_noise_can_be_left_unclipped_as_the_tutorials_add_it(checkpoint_dir,
                                                                     monkeypatch):
    at = open_page("app_pages/denoise.py", checkpoint_dir, monkeypatch, "tiny_plain")
    clipped = at.dataframe[0].value["corrupted PSNR"]
    at.checkbox(key="denoise_clip").uncheck().run()
    assert any("Unclipped, as in the tutorials" in caption.value for caption in at.caption)
    # The same noise, no longer cut at 0 and 1: further from the clean digit.
    assert (at.dataframe[0].value["corrupted PSNR"] < clipped).all()
    at.radio(key="denoise_kind").set_value("mask").run()
    assert not [box for box in at.checkbox if box.key == "denoise_clip"]  # Gaussian only


def test_unclipped_gaussian_noise_leaves_the_pixel_range():
    import torch

    from ae_core.noise import corrupt

    images = torch.full((4, 1, 28, 28), 0.5)
    noisy = corrupt(images, "gaussian", 0.5, torch.Generator().manual_seed(0), clip=False)
    assert noisy.min() < 0 and noisy.max() > 1
    clipped = corrupt(images, "gaussian", 0.5, torch.Generator().manual_seed(0))
    torch.testing.assert_close(clipped, noisy.clamp(0, 1))
