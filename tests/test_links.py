"""Links that reopen a view (ui.url_state) under AppTest: a page writes its state into the query
parameters, the same parameters in a fresh session show that state, and a bad one gives a
one-line note and the default, never an exception."""

from __future__ import annotations

import pytest
import torch
from streamlit.testing.v1 import AppTest

from ae_core.code_text import code_to_text
from tests.pages import APP, SHIPPED, open_page
from ui import projections, state
from ui.widgets import DRAWING, Drawing


def open_link(page: str, params: dict[str, str], folder, monkeypatch) -> AppTest:
    """A fresh session opened on a link: the app with these query parameters, then `page`."""
    monkeypatch.setenv("LATENT_LAB_CHECKPOINTS", str(folder))
    monkeypatch.setattr(state, "CHECKPOINT_DIR", folder)
    monkeypatch.setenv(projections.WARM_UP_ENV, "0")
    at = AppTest.from_file(APP, default_timeout=240)
    at.session_state["sliders_in_browser"] = False  # AppTest runs no JavaScript
    at.query_params.update(params)
    at.switch_page(page).run()  # the first run is the page's, as a link opens it
    assert not at.exception, at.exception
    return at


def decoded_url(at: AppTest) -> str:
    return next(image.value[0] for image in at.get("image")
                if image.captions == ["Decoded from the sliders"])


def test_the_sliders_link_reopens_the_digit_and_the_moved_code(monkeypatch):
    at = open_page("app_pages/sliders.py", SHIPPED, monkeypatch, "ae_32")
    at.radio(key="sliders_digit_mode").set_value("By index").run()
    at.number_input(key="sliders_digit_index").set_value(123).run()
    assert at.query_params["digit"] == "123" and "code" not in at.query_params
    slider = at.slider[0]
    slider.set_value(slider.max).run()
    params = dict(at.query_params)
    assert params["model"] == "ae_32" and params["digit"] == "123"
    assert len(params["code"]) == 86
    code, picture = at.session_state["sliders_code"].clone(), decoded_url(at)

    again = open_link("app_pages/sliders.py", params, SHIPPED, monkeypatch)
    assert not again.warning
    assert again.session_state[state.ACTIVE_MODEL] == "shipped: ae_32"
    assert again.number_input(key="sliders_digit_index").value == 123
    torch.testing.assert_close(again.session_state["sliders_code"], code, rtol=1e-3, atol=1e-3)
    # Only the moved number went through float16: the other 31 are the digit's own.
    assert any(caption.value.startswith("1 of 32 dimensions moved") for caption in again.caption)
    assert decoded_url(again) == picture
    assert dict(again.query_params) == params


def test_the_model_in_a_link_is_chosen_on_any_page(monkeypatch):
    at = open_link("app_pages/home.py", {"model": "vae_2"}, SHIPPED, monkeypatch)
    assert at.session_state[state.ACTIVE_MODEL] == "shipped: vae_2" and not at.warning
    at.switch_page("app_pages/interpolate.py").run()
    assert at.query_params["model"] == "vae_2"


def test_the_interpolation_link_reopens_its_ends_path_and_steps(monkeypatch):
    params = {"model": "ae_32", "a": "12", "b": "345", "path": "slerp", "steps": "5"}
    at = open_link("app_pages/interpolate.py", params, SHIPPED, monkeypatch)
    assert not at.warning
    assert [at.number_input(key=f"interpolate_{end}_index").value
            for end in ("start", "end")] == [12, 345]
    assert at.radio(key="interpolate_method").value == "slerp"
    assert at.slider(key="interpolate_steps").value == 5
    assert dict(at.query_params) == params
    at.radio(key="interpolate_method").set_value("linear").run()  # the user's, not the link's
    assert at.radio(key="interpolate_method").value == "linear"
    assert at.query_params["path"] == "linear"


def test_the_map_link_reopens_its_projection_colouring_and_view(checkpoint_dir, monkeypatch,
                                                                 submitted):
    params = {"model": "tiny_plain", "proj": "pca", "color": "error", "view": "3"}
    at = open_link("app_pages/latent_map.py", params, checkpoint_dir, monkeypatch)
    assert not at.warning and not submitted  # PCA: no background UMAP asked for
    assert at.radio(key="latent_map_method").value == "pca"
    assert at.segmented_control(key="latent_map_colour").value == "error"
    assert at.segmented_control(key="latent_map_view").value == 3
    assert dict(at.query_params) == params


@pytest.mark.parametrize(("page", "params", "says"), [
    ("app_pages/sliders.py", {"model": "no_such_model"}, "`model` (`no_such_model`) is not a"),
    ("app_pages/sliders.py", {"digit": "abc"}, "`digit` (`abc`) is not a whole number"),
    ("app_pages/sliders.py", {"digit": "5000"}, "from 0 to 4,999"),
    ("app_pages/sliders.py", {"code": "!!"}, "characters base64url does not use"),
    ("app_pages/sliders.py", {"code": code_to_text(torch.zeros(20))}, "has 20 numbers"),
    ("app_pages/interpolate.py", {"path": "zigzag"}, "is not one of linear, slerp"),
    ("app_pages/interpolate.py", {"steps": "99"}, "from 3 to 24"),
    ("app_pages/latent_map.py", {"proj": "lda"}, "is not one of umap, pca, tsne"),
])
def test_a_bad_link_opens_the_page_with_one_line_and_the_default(page, params, says,
                                                                 checkpoint_dir, monkeypatch,
                                                                 submitted):
    at = open_link(page, {"model": "ae_32", **params}, checkpoint_dir, monkeypatch)
    [note] = at.warning
    assert says in note.value and "\n" not in note.value
    assert at.session_state[state.ACTIVE_MODEL] == "shipped: ae_32"
    [(name, value)] = params.items()
    assert at.query_params.get(name) != value  # the address now holds what the page shows
    at.run()
    assert not at.warning  # said once


def test_a_link_to_a_missing_model_does_not_follow_that_models_code(monkeypatch):
    code = code_to_text(torch.full((32,), 0.5))
    at = open_link("app_pages/sliders.py", {"model": "gone", "digit": "7", "code": code},
                   SHIPPED, monkeypatch)
    [note] = at.warning
    assert "`model` (`gone`) is not a model here" in note.value
    assert at.number_input(key="sliders_digit_index").value == 7  # the digit is anyone's
    assert any(caption.value.startswith("0 of 32 dimensions moved") for caption in at.caption)
    assert at.query_params["model"] == "ae_32" and "code" not in at.query_params


def test_a_drawing_on_the_sliders_goes_in_the_link_as_its_code(monkeypatch, embedded):
    monkeypatch.setattr(state, "CHECKPOINT_DIR", SHIPPED)
    at = AppTest.from_file(APP, default_timeout=240)
    at.session_state["sliders_in_browser"] = False
    at.session_state[state.DRAWN_DIGIT] = Drawing(embedded.float_images()[7], 3, 1)
    at.session_state[state.SELECTED_DIGIT] = DRAWING
    at.switch_page("app_pages/sliders.py").run()
    assert not at.exception, at.exception
    assert "digit" not in at.query_params  # a link cannot carry the drawing itself
    assert "code" not in at.query_params and len(at.query_params["from"]) == 86  # its code
    slider = at.slider[0]
    slider.set_value(slider.max).run()
    drawn = at.session_state["sliders_code"].clone()
    params = dict(at.query_params)
    again = open_link("app_pages/sliders.py", params, SHIPPED, monkeypatch)
    assert not again.warning
    torch.testing.assert_close(again.session_state["sliders_code"], drawn, rtol=1e-3, atol=1e-3)
    # The link's own start, decoded, stands where the drawing stood, and the count is the
    # drawing's: one number moved from it, not 32 from some digit 0.
    moved = [caption.value for caption in again.caption if "dimensions moved" in caption.value]
    assert moved and moved[0].startswith("1 of 32 dimensions moved from the link's starting code")
    assert any(image.captions == ["The link's start, decoded"] for image in again.get("image"))
    assert "sliders_digit_mode" not in [radio.key for radio in again.radio]
    assert again.button(key="sliders_reset").label == "Reset to the link's start"
    assert dict(again.query_params) == params  # the reopened page's link is the same link
    again.button(key="sliders_unlink").click().run()  # back to the images
    assert again.radio(key="sliders_digit_mode").value == "By class"
    assert "from" not in again.query_params and "digit" in again.query_params

    # Links made before "from" carried only the code: it becomes the start, nothing moved.
    old = open_link("app_pages/sliders.py", {"model": "ae_32", "code": params["from"]},
                    SHIPPED, monkeypatch)
    assert not old.warning
    assert any(caption.value.startswith("0 of 32 dimensions moved from the link's starting")
               for caption in old.caption)


def test_a_conditional_models_class_is_in_the_sliders_link(monkeypatch):
    params = {"model": "cvae_2", "digit": "5", "class": "3"}
    at = open_link("app_pages/sliders.py", params, SHIPPED, monkeypatch)
    assert not at.warning and at.selectbox(key="sliders_class").value == 3
    assert dict(at.query_params) == params
    at = open_link("app_pages/sliders.py", {**params, "class": "12"}, SHIPPED, monkeypatch)
    [note] = at.warning
    assert "`class` (`12`) is not one of 0, 1" in note.value
    assert at.query_params["class"] == str(at.selectbox(key="sliders_class").value)
