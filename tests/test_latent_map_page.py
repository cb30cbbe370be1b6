"""The Latent map page under AppTest, on small real checkpoints.

UMAP is never fitted here except in the one slow test: the others record the background job
the map asks for, or use a projection stored in the checkpoint.
"""

from __future__ import annotations

import json
import time

import pytest
from streamlit.testing.v1 import AppTest

from tests.pages import SHIPPED, all_urls, numbers, open_page
from ui import sources, state


def map_spec(at: AppTest) -> dict:
    return json.loads(at.get("plotly_chart")[0].proto.spec)


def x_title(spec: dict) -> str:
    return spec["layout"]["xaxis"]["title"]["text"]


def test_latent_map_shows_pca_at_once_and_asks_for_umap(checkpoint_dir, monkeypatch,
                                                        submitted):
    at = open_page("app_pages/latent_map.py", checkpoint_dir, monkeypatch, "tiny_plain")
    spec = map_spec(at)
    assert x_title(spec).startswith("PC1")
    assert [trace["name"] for trace in spec["data"]] == [str(digit) for digit in range(10)]
    assert sum(len(trace["customdata"]) for trace in spec["data"]) == 5000
    assert any("computing UMAP" in info.value for info in at.info)
    [(request, shape)] = submitted
    assert (request.method, request.n_neighbors, request.min_dist, request.source) == (
        "umap", 15, 0.1, "embedded")
    assert shape == (5000, 6)
    assert at.form[0] is not None and at.button(key="latent_map_clear").disabled
    assert len(at.get("download_button")) == 3


def test_umap_stored_in_the_checkpoint_shows_at_once(checkpoint_dir, monkeypatch, submitted):
    at = open_page("app_pages/latent_map.py", checkpoint_dir, monkeypatch, "tiny_map")
    spec = map_spec(at)
    assert x_title(spec) == "UMAP 1" and "UMAP" in spec["layout"]["title"]["text"]
    xs = [x for trace in spec["data"] for x in numbers(trace["x"])]
    assert min(xs) > 98  # the stored coordinates, not a fresh projection
    assert not at.info and not submitted
    assert any("precomputed" in caption.value for caption in at.caption)


def test_form_switches_to_pca_and_colour_by_error(checkpoint_dir, monkeypatch, submitted):
    at = open_page("app_pages/latent_map.py", checkpoint_dir, monkeypatch, "tiny_map")
    at.radio(key="latent_map_method").set_value("pca")
    at.button(key="FormSubmitter:latent_map_form-Draw map").click().run()
    spec = map_spec(at)
    assert x_title(spec).startswith("PC1") and not at.info and not submitted
    at.segmented_control(key="latent_map_colour").set_value("error").run()
    spec = map_spec(at)
    assert len(spec["data"]) == 1 and spec["data"][0]["marker"]["colorscale"]
    assert spec["data"][0]["marker"]["colorbar"]["title"]["text"] == "MSE / pixel"


def test_a_two_dimensional_code_is_its_own_map(checkpoint_dir, monkeypatch, submitted):
    at = open_page("app_pages/latent_map.py", checkpoint_dir, monkeypatch, "tiny_2d")
    spec = map_spec(at)
    assert x_title(spec) == "z[0]" and not submitted and not at.info
    assert any("shown as it is" in caption.value for caption in at.caption)


def test_a_chosen_digit_shows_with_its_neighbours_and_goes_to_other_pages(
        checkpoint_dir, monkeypatch, submitted):
    at = open_page("app_pages/latent_map.py", checkpoint_dir, monkeypatch, "tiny_map")
    assert not at.get("image")
    at.number_input(key="latent_map_index").set_value(123).run()
    captions = [caption for image in at.get("image") for caption in image.captions]
    assert len(captions) == 2 and "#123" in captions[0] and captions[1].startswith("#123 and")
    assert spec_selected(map_spec(at)) == [123]  # ringed on the map
    first_images = all_urls(at)
    at.number_input(key="latent_map_index").set_value(4000).run()
    assert all_urls(at)[0] != first_images[0]
    at.button(key="latent_map_start").click().run()
    assert at.session_state[state.INTERPOLATION_ENDS] == [4000, None]
    at.button(key="latent_map_to_sliders").click().run()
    assert not at.exception and at.title[0].value == "Bottleneck sliders"
    # The sliders page takes SELECTED_DIGIT as a message: its picker now shows digit 4000.
    assert at.number_input(key="sliders_digit_index").value == 4000


def spec_selected(spec: dict) -> list[int]:
    ringed = [trace for trace in spec["data"] if trace["name"] == "selected"]
    return [int(row[0]) for row in ringed[0]["customdata"]] if ringed else []


def test_clear_selection_empties_the_panel(checkpoint_dir, monkeypatch, submitted):
    at = open_page("app_pages/latent_map.py", checkpoint_dir, monkeypatch, "tiny_map")
    at.number_input(key="latent_map_index").set_value(7).run()
    assert at.get("image")
    at.button(key="latent_map_clear").click().run()
    assert not at.get("image") and spec_selected(map_spec(at)) == []
    assert any("Nothing selected" in caption.value for caption in at.caption)


def test_the_mnist_test_set_can_be_mapped(checkpoint_dir, monkeypatch, submitted):
    if not sources.source_available("mnist-test"):
        pytest.skip("the MNIST test set is not on this machine (../shared/data/mnist)")
    at = open_page("app_pages/latent_map.py", checkpoint_dir, monkeypatch, "tiny_map")
    at.selectbox(key="latent_map_source").set_value("mnist-test")
    at.button(key="FormSubmitter:latent_map_form-Draw map").click().run()
    assert not at.exception
    spec = map_spec(at)
    # 5,000 of the 10,000 drawn by default, a seeded sample; every code is projected.
    drawn = [int(row[0]) for trace in spec["data"] for row in trace["customdata"]]
    assert len(drawn) == len(set(drawn)) == 5000 and max(drawn) < 10_000
    assert "5,000 of 10,000 images" in spec["layout"]["title"]["text"]
    assert all(trace["type"] == "scattergl" for trace in spec["data"])  # WebGL
    assert submitted[-1][0].source == "mnist-test"  # nothing stored for it: computed
    assert submitted[-1][1][0] == 10_000
    at.selectbox(key="latent_map_points").set_value("all").run()
    every = [int(row[0]) for trace in map_spec(at)["data"] for row in trace["customdata"]]
    assert sorted(every) == list(range(10_000)) and set(drawn) <= set(every)
    at.selectbox(key="latent_map_points").set_value(5000).run()
    assert [int(row[0]) for trace in map_spec(at)["data"]
            for row in trace["customdata"]] == drawn  # the same sample again
    at.number_input(key="latent_map_index").set_value(9999).run()
    assert not at.exception and at.get("image")
    assert not [button for button in at.button if button.key == "latent_map_to_sliders"]


@pytest.mark.slow
def test_umap_replaces_pca_when_it_is_ready(checkpoint_dir, monkeypatch):
    """The one test that waits for UMAP (its numba compile on a cold process included)."""
    at = open_page("app_pages/latent_map.py", checkpoint_dir, monkeypatch, "tiny_plain")
    at.slider(key="latent_map_neighbours").set_value(12)
    at.button(key="FormSubmitter:latent_map_form-Draw map").click().run()
    assert x_title(map_spec(at)).startswith("PC1") and at.info
    # The job runs at a lowered CPU priority (slider steps go first) behind any earlier
    # tests' jobs: ~1 min here alone, but over 400 s once on a machine busy at full load. The
    # wait ends as soon as UMAP is there; the limit only stops a job that never finishes.
    deadline = time.monotonic() + 1200
    while x_title(map_spec(at)) != "UMAP 1":
        assert time.monotonic() < deadline, "UMAP did not arrive within 1200 s"
        time.sleep(2)
        at.run()  # what the page's polling fragment does every second in a browser
    assert not at.info and not at.exception


def scene_points(spec: dict) -> int:
    return sum(len(trace["customdata"]) for trace in spec["data"])


def test_3d_view_shows_pca_at_once_and_asks_for_umap_in_3d(checkpoint_dir, monkeypatch,
                                                           submitted):
    at = open_page("app_pages/latent_map.py", checkpoint_dir, monkeypatch, "tiny_plain")
    at.segmented_control(key="latent_map_view").set_value(3).run()
    assert not at.exception
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert {trace["type"] for trace in spec["data"]} == {"scatter3d"}
    assert scene_points(spec) == 5000
    assert "image #%{customdata[0]}, class %{customdata[1]}" in spec["data"][0]["hovertemplate"]
    assert spec["layout"]["scene"]["xaxis"]["title"]["text"].startswith("PC1")
    assert spec["layout"]["scene"]["zaxis"]["title"]["text"].startswith("PC3")
    # UMAP to 3-D goes to the background job, PCA meanwhile (the 2-D map may have asked for
    # its own UMAP on opening, unless an earlier test in this process computed it).
    asked_3d = [(request.method, shape) for request, shape in submitted
                if request.n_components == 3]
    assert asked_3d == [("umap", (5000, 6))]
    at.radio(key="latent_map_method").set_value("pca")
    at.button(key="FormSubmitter:latent_map_form-Draw map").click().run()
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert scene_points(spec) == 5000 and not at.info
    assert len([request for request, _ in submitted if request.n_components == 3]) == 1
    at.segmented_control(key="latent_map_colour").set_value("error").run()
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert len(spec["data"]) == 1 and spec["data"][0]["marker"]["colorscale"]


def test_3d_umap_stored_in_the_checkpoint_shows_without_a_job(checkpoint_dir, monkeypatch,
                                                             submitted):
    if not (checkpoint_dir / "ae_32.safetensors").is_file():
        pytest.skip("the shipped ae_32 (with its stored 3-D UMAP) is not in checkpoints/")
    at = open_page("app_pages/latent_map.py", checkpoint_dir, monkeypatch, "ae_32")
    at.segmented_control(key="latent_map_view").set_value(3).run()
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert spec["layout"]["scene"]["zaxis"]["title"]["text"] == "UMAP 3"
    assert scene_points(spec) == 5000 and not submitted and not at.info
    assert any("precomputed" in caption.value for caption in at.caption)


def test_a_two_dimensional_code_offers_no_3d_view(checkpoint_dir, monkeypatch, submitted):
    at = open_page("app_pages/latent_map.py", checkpoint_dir, monkeypatch, "tiny_2d")
    assert at.segmented_control(key="latent_map_view").disabled
    assert any("3-D view: not offered" in caption.value for caption in at.caption)


def test_a_fashion_model_opens_on_its_own_test_set_with_clothes_names(monkeypatch, submitted):
    if not (SHIPPED / "fashion_vae_20.safetensors").is_file() or \
            not sources.source_available("fashion-test"):
        pytest.skip("needs checkpoints/fashion_vae_20.safetensors and Fashion-MNIST")
    at = open_page("app_pages/latent_map.py", SHIPPED, monkeypatch, "fashion_vae_20")
    assert at.selectbox(key="latent_map_source").value == "fashion-test"
    spec = map_spec(at)
    assert [trace["name"] for trace in spec["data"]][:2] == ["T-shirt/top", "Trouser"]
    assert x_title(spec) == "UMAP 1" and not submitted  # the stored map of its test set
    assert "5,000 of 10,000 images" in spec["layout"]["title"]["text"]


def test_the_selected_legend_stays_clear_of_the_colour_bars_title():
    import numpy as np

    from ae_core.figures.charts import latent_map

    coords = np.random.default_rng(0).normal(size=(20, 2))
    labels, errors = np.arange(20) % 10, np.linspace(0.01, 0.1, 20)
    names = [str(label) for label in range(10)]
    by_error = latent_map(coords, labels, errors, names, "error",
                          selected=[3], indices=np.arange(20))
    assert [trace.name for trace in by_error.data] == ["images", "selected"]
    # The colour bar sits right of the plot with its title on top; the legend goes below.
    assert by_error.layout.legend.orientation == "h" and by_error.layout.legend.y < 0
    by_label = latent_map(coords, labels, errors, names, "label", selected=[3],
                          indices=np.arange(20))
    assert by_label.layout.legend.orientation is None  # no colour bar: the legend's place
