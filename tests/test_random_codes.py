"""AE vs VAE's second test (ae_core.smoothness.random_code_report and ui/holes_panel.py):
random codes from the codes' box and from the prior, judged by the pixel probe."""

from __future__ import annotations

import pytest
import torch

from ae_core.checkpoint import load_checkpoint
from ae_core.latent import encode_dataset
from ae_core.smoothness import ImageProbe, random_code_codes, random_code_report
from tests.pages import SHIPPED, needs_shipped, open_page

needs_pair = needs_shipped("ae_2", "vae_2")


@needs_pair
def test_box_draws_stay_in_the_codes_box_and_prior_draws_follow_the_prior(embedded):
    model = load_checkpoint(SHIPPED / "vae_2.safetensors").model.eval()
    codes = encode_dataset(model, embedded.float_images(), embedded.labels).codes
    box = random_code_codes(model, codes, "box", 2000)
    low, high = torch.quantile(codes, 0.005, dim=0), torch.quantile(codes, 0.995, dim=0)
    assert bool(((box >= low) & (box <= high)).all())
    assert torch.equal(box, random_code_codes(model, codes, "box", 2000))  # seeded
    prior = random_code_codes(model, codes, "prior", 4000)
    assert prior.mean(dim=0).abs().max() < 0.1 and (prior.std(dim=0) - 1).abs().max() < 0.1
    plain = load_checkpoint(SHIPPED / "ae_2.safetensors").model
    if not plain.has_prior:
        with pytest.raises(ValueError, match="no prior"):
            random_code_codes(plain, codes, "prior")


@needs_pair
def test_the_judge_scores_random_codes(embedded):
    probe = ImageProbe().fit(embedded.float_images()[:1500], embedded.labels[:1500])
    model = load_checkpoint(SHIPPED / "vae_2.safetensors").model.eval()
    codes = encode_dataset(model, embedded.float_images(), embedded.labels).codes
    report = random_code_report(model, codes, "prior", probe, count=100)
    assert 0.0 < report.fraction < 1.0 and report.midpoints.shape == (100, 1, 28, 28)


@needs_pair
def test_the_page_shows_both_models_random_codes(monkeypatch):
    at = open_page("app_pages/ae_vs_vae.py", SHIPPED, monkeypatch)
    table = next(frame.value for frame in at.dataframe if "drawn from" in frame.value.columns)
    regions = [(name, region) for name in ("ae_2", "vae_2") for region in ("box", "prior")
               if region == "box" or load_checkpoint(SHIPPED / f"{name}.safetensors").model
               .has_prior]
    assert list(zip(table["model"], table["drawn from"], strict=True)) == regions
    assert all(value.endswith("%") for value in table["confident"])
    captions = [image.captions[0] for image in at.get("image")]
    assert any(caption.startswith("vae_2, random codes from its prior") for caption in captions)
