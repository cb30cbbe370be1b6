"""The Interpolation page under AppTest, on the shipped and small real checkpoints."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from tests.pages import APP, SHIPPED, first_urls, open_page
from ui import state


def test_interpolation_strips_and_their_downloads(monkeypatch):
    at = open_page("app_pages/interpolate.py", SHIPPED, monkeypatch, "ae_32")
    latent, pixels = first_urls(at)[:2]  # the analogies' pictures follow
    assert [b.proto.label for b in at.get("download_button")] == [
        "Download the strip (PNG)", "Download the morph (animated GIF)"]
    at.radio(key="interpolate_method").set_value("slerp").run()
    assert first_urls(at)[0] != latent  # another path through the codes
    assert first_urls(at)[1] == pixels  # the cross-fade does not depend on it
    at.slider(key="interpolate_steps").set_value(5).run()
    assert first_urls(at)[1] != pixels
    at.number_input(key="interpolate_end_example").set_value(4).run()
    assert not at.exception


def test_interpolation_follows_the_ends_the_latent_map_sends(monkeypatch):
    monkeypatch.setattr(state, "CHECKPOINT_DIR", SHIPPED)
    at = AppTest.from_file(APP, default_timeout=180).run()
    at.session_state[state.INTERPOLATION_ENDS] = [None, 321]
    at.switch_page("app_pages/interpolate.py").run()
    assert not at.exception
    assert at.radio(key="interpolate_start_mode").value == "By class"
    assert at.radio(key="interpolate_end_mode").value == "By index"
    assert at.number_input(key="interpolate_end_index").value == 321


def test_interpolation_of_a_conditional_model_asks_for_a_class(monkeypatch, tiny_checkpoints):
    at = open_page("app_pages/interpolate.py", tiny_checkpoints, monkeypatch, "cvae_3")
    latent = first_urls(at)[0]
    at.selectbox(key="interpolate_class").set_value(3).run()
    assert first_urls(at)[0] != latent


def test_a_drawn_seven_morphs_into_another_class(checkpoint_dir, monkeypatch, embedded):
    from ui.widgets import DRAWING, Drawing

    at = open_page("app_pages/home.py", checkpoint_dir, monkeypatch, "tiny_plain")
    seven = embedded.float_images()[int((embedded.labels == 7).nonzero()[0, 0])]
    at.session_state[state.DRAWN_DIGIT] = Drawing(seven, 7, 1)
    at.session_state[state.INTERPOLATION_ENDS] = [DRAWING, None]  # as the Draw page sends it
    at.switch_page("app_pages/interpolate.py").run()
    assert not at.exception, at.exception
    assert at.radio(key="interpolate_start_mode").value == "Your drawing"
    assert at.selectbox(key="interpolate_end_class").value != 7  # not 7 -> 7
