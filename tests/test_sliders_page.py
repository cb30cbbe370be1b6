"""The Bottleneck sliders page under AppTest, on the shipped and small real checkpoints."""

from __future__ import annotations

import pytest
import torch
from streamlit.testing.v1 import AppTest

from ae_core.checkpoint import load_checkpoint, save_checkpoint
from ae_core.config import TrainConfig
from ae_core.latent import encode_dataset
from ae_core.models import REGISTRY
from ae_core.train import fit
from tests.conftest import family_config
from tests.pages import APP, SHIPPED, first_urls, open_page
from ui import state


def summary_order(at: AppTest) -> list[int]:
    """The dimensions the traversal offers, most important first."""
    return [int(option.split("]")[0][2:]) for option in
            at.selectbox(key="sliders_traverse_dim").options]


def decoded_url(at: AppTest) -> str:
    return next(image.value[0] for image in at.get("image")
                if image.captions == ["Decoded from the sliders"])


def test_sliders_show_the_most_important_dimensions_first(monkeypatch, embedded):
    at = open_page("app_pages/sliders.py", SHIPPED, monkeypatch, "ae_32")
    # Two columns, read row by row: the first column holds ranks 1, 3, 5, ...
    first, second = at.slider[:4], at.slider[4:]
    shown = [int(s.key.rsplit("_", 1)[1]) for pair in zip(first, second, strict=True)
             for s in pair]
    model = load_checkpoint(SHIPPED / "ae_32.safetensors").model
    codes = encode_dataset(model, embedded.float_images(), embedded.labels).codes
    assert shown == torch.argsort(codes.var(dim=0), descending=True)[:8].tolist()
    assert [image.captions[0] for image in at.get("image")][:2] == [
        "The digit", "Decoded from the sliders"]
    at.toggle(key="sliders_show_all").set_value(True).run()
    assert len(at.slider) == 32


def test_moving_a_slider_changes_the_decoded_digit_and_reset_restores_it(monkeypatch):
    at = open_page("app_pages/sliders.py", SHIPPED, monkeypatch, "ae_32")
    digit_before, decoded_before = first_urls(at)[:2]
    slider = at.slider[0]
    start = slider.value
    target = slider.max if start < (slider.min + slider.max) / 2 else slider.min
    slider.set_value(target).run()
    assert not at.exception
    assert decoded_url(at) != decoded_before
    assert first_urls(at)[0] == digit_before  # the original digit does not move
    dimension = int(slider.key.rsplit("_", 1)[1])
    assert at.session_state["sliders_code"][dimension] == pytest.approx(target)
    at.button(key="sliders_reset").click().run()
    assert at.slider[0].value == pytest.approx(start)
    assert decoded_url(at) == decoded_before


def test_another_digit_moves_every_slider(monkeypatch):
    at = open_page("app_pages/sliders.py", SHIPPED, monkeypatch, "ae_32")
    values, urls = [s.value for s in at.slider], first_urls(at)
    at.number_input(key="sliders_digit_example").set_value(3).run()
    assert all(a != b for a, b in zip(values, [s.value for s in at.slider], strict=True))
    assert first_urls(at)[0] != urls[0]
    at.radio(key="sliders_digit_mode").set_value("Random").run()
    assert not at.exception and at.button(key="sliders_digit_reroll")


def test_the_latent_map_sends_a_digit(monkeypatch, embedded):
    monkeypatch.setattr(state, "CHECKPOINT_DIR", SHIPPED)
    at = AppTest.from_file(APP, default_timeout=180).run()
    at.session_state[state.SELECTED_DIGIT] = 1234
    at.switch_page("app_pages/sliders.py").run()
    assert at.radio(key="sliders_digit_mode").value == "By index"
    assert at.number_input(key="sliders_digit_index").value == 1234
    assert state.SELECTED_DIGIT not in at.session_state  # taken: a message, not a setting
    code = at.session_state["sliders_code"]
    at.number_input(key="sliders_digit_index").set_value(7).run()  # the user's again
    assert at.number_input(key="sliders_digit_index").value == 7
    assert not torch.equal(at.session_state["sliders_code"], code)


def test_randomise_draws_from_the_codes_without_a_prior(monkeypatch):
    at = open_page("app_pages/sliders.py", SHIPPED, monkeypatch, "ae_32")
    before = decoded_url(at)
    at.button(key="sliders_randomise").click().run()
    assert decoded_url(at) != before
    assert any("fitted to the images' codes" in caption.value for caption in at.caption)


def test_traversal_sweeps_the_chosen_dimension(monkeypatch):
    at = open_page("app_pages/sliders.py", SHIPPED, monkeypatch, "ae_32")
    grid = first_urls(at)[-1]
    at.selectbox(key="sliders_traverse_dim").set_value(summary_order(at)[5]).run()
    assert not at.exception
    assert first_urls(at)[-1] != grid


def test_switching_models_starts_over(monkeypatch):
    at = open_page("app_pages/sliders.py", SHIPPED, monkeypatch, "ae_32")
    at.selectbox(key="sliders_traverse_dim").set_value(31).run()  # no such dimension in ae_2
    at.slider[0].set_value(at.slider[0].max).run()
    at.session_state[state.ACTIVE_MODEL] = "shipped: ae_2"  # what the sidebar picker sets
    at.run()
    assert not at.exception
    assert len(at.slider) == 2 and len(at.session_state["sliders_code"]) == 2
    assert len(at.get("plotly_chart")) == 1  # the 2-D manifold


def test_a_2d_vae_gets_the_manifold_and_its_prior(monkeypatch, tiny_checkpoints):
    at = open_page("app_pages/sliders.py", tiny_checkpoints, monkeypatch, "vae_2")
    assert len(at.slider) == 2
    assert "KL" in at.slider[0].help
    def manifold_spec() -> str:
        charts = [chart for chart in at.get("plotly_chart")
                  if chart.proto.id.endswith("sliders_manifold")]
        assert len(charts) == 1
        return charts[0].proto.spec

    before = manifold_spec()
    at.slider[1].set_value(at.slider[1].max).run()
    assert manifold_spec() != before  # the cross moved
    at.button(key="sliders_randomise").click().run()
    assert any("the model's prior" in caption.value for caption in at.caption)


def test_a_conditional_model_draws_the_same_code_as_another_class(monkeypatch,
                                                                  tiny_checkpoints):
    at = open_page("app_pages/sliders.py", tiny_checkpoints, monkeypatch, "cvae_3")
    assert at.selectbox(key="sliders_class").value == 0  # the picked digit's class
    before = decoded_url(at)
    at.selectbox(key="sliders_class").set_value(8).run()
    assert not at.exception
    assert decoded_url(at) != before


@pytest.mark.slow
@pytest.mark.parametrize("family", sorted(REGISTRY))
def test_every_family_works_on_both_pages(family, monkeypatch, tmp_path, digits):
    """Through the generic interface only: each family, briefly trained on 200 digits."""
    torch.manual_seed(0)
    config = family_config(family, latent_dim=4, hidden_sizes=(32,), conv_channels=(4, 8),
                           codebook_size=8)
    model = fit(REGISTRY[family](config), digits, None, TrainConfig(epochs=2, batch_size=20)).model
    save_checkpoint(tmp_path / f"{family}.safetensors", model)
    at = open_page("app_pages/sliders.py", tmp_path, monkeypatch, family)
    assert not at.error, [e.value for e in at.error]
    before = decoded_url(at)
    at.slider[0].set_value(at.slider[0].max).run()
    assert not at.exception and not at.error
    assert decoded_url(at) != before
    at.button(key="sliders_randomise").click().run()
    assert not at.exception and not at.error
    at.switch_page("app_pages/interpolate.py").run()
    assert not at.exception and not at.error
    analogies = ("a, b, c", "First column")  # the analogies further down (ui/analogy_panel.py)
    assert len([image for image in at.get("image")
                if not image.captions[0].startswith(analogies)]) == 2


def test_the_traversal_downloads_as_an_animated_gif_and_a_projector_png(checkpoint_dir,
                                                                        monkeypatch):
    at = open_page("app_pages/sliders.py", checkpoint_dir, monkeypatch, "tiny_plain")
    labels = {button.key: button.proto.label for button in at.get("download_button")}
    assert labels["sliders_traverse_gif"] == "The first row as an animated GIF"
    assert labels["sliders_traverse_png"] == "The grid as a PNG for a projector"
    # Made when clicked, not on every visit (tests/browser/test_interpolation_page.py clicks
    # one such download and reads the GIF).
    for button in at.get("download_button"):
        if button.key in ("sliders_traverse_gif", "sliders_traverse_png"):
            assert button.proto.deferred_file_id and not button.proto.url
