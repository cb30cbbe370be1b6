"""The home page under AppTest: a card per page with a live picture and a link, the tour
button, the shipped models in a line each."""

from __future__ import annotations

from pathlib import Path

from tests.pages import open_page
from ui import tour

CARD_PAGES = ["app_pages/train.py", "app_pages/sliders.py", "app_pages/interpolate.py",
              "app_pages/draw.py", "app_pages/samples.py", "app_pages/ae_vs_vae.py",
              "app_pages/few_labels.py", "app_pages/latent_map.py", "app_pages/denoise.py",
              "app_pages/anomaly.py", "app_pages/bottleneck.py"]


def test_every_page_has_a_card_with_a_live_picture_and_a_link(checkpoint_dir, monkeypatch):
    at = open_page("app_pages/home.py", checkpoint_dir, monkeypatch, "tiny_map")
    links = at.get("page_link")
    assert [link.proto.page for link in links] == [Path(page).stem for page in CARD_PAGES]
    assert all(link.value for link in links)  # the title Streamlit takes from app.py
    # The reconstructions strip, then one picture per card; each a PNG.
    images = at.get("image")
    assert len(images) == 1 + len(CARD_PAGES)
    for image in images:
        assert image.proto.imgs[0].url.endswith(".png"), image.proto.imgs[0].url
    assert at.subheader[0].value == "Digits and their reconstructions"
    assert at.button(key="home_tour").value is False
    shipped = next(md.value for md in at.main.markdown if "**tiny_map**" in md.value)
    assert "**tiny_map** (active): MLP autoencoder · a 6-number code." in shipped
    assert "**tiny_2d**" in shipped and "2-number code" in shipped


def test_pictures_follow_the_model_and_stay_for_a_second_visit(checkpoint_dir, monkeypatch):
    # (What a second visit costs is measured by benchmarks/ws_load.py --pages, not timed here.)
    at = open_page("app_pages/home.py", checkpoint_dir, monkeypatch, "tiny_cvae")
    first = [image.proto.imgs[0].url for image in at.get("image")]
    at.run()
    assert [image.proto.imgs[0].url for image in at.get("image")] == first
    at.session_state["active_model"] = "shipped: tiny_2d"
    at.run()
    assert not at.exception
    assert [image.proto.imgs[0].url for image in at.get("image")][1:] != first[1:]


def test_start_the_tour_opens_the_first_step_of_the_shipped_tour(checkpoint_dir, monkeypatch):
    at = open_page("app_pages/home.py", checkpoint_dir, monkeypatch, "tiny_plain")
    at.button(key="home_tour").click().run()
    assert not at.exception
    first = tour.shipped_tour().steps[0]
    assert first.page == "app_pages/sliders.py"
    assert at.title[0].value == "Bottleneck sliders"
    shown = " ".join(md.value for md in at.main.markdown)
    assert "1 / 7" in shown and first.text in shown
    assert at.session_state["active_model"] == "shipped: ae_32"  # the step's model
