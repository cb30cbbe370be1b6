"""Every page shows a Fashion-MNIST model clothes (ui.sources.own_source), never digits."""

from __future__ import annotations

from ae_core.data import FASHION_CLASSES
from tests.pages import open_page
from tests.test_draw_page import data_url, stroke_png
from ui import state
from ui.sources import SOURCES

MODEL = "tiny_fashion"
SOURCE_LABEL = SOURCES["fashion-test"]


def texts(at, element: str) -> str:
    return "\n".join(str(item.value) for item in at.get(element))


def test_the_sliders_start_from_clothes(fashion_checkpoints, monkeypatch):
    at = open_page("app_pages/sliders.py", fashion_checkpoints, monkeypatch, MODEL)
    assert at.selectbox(key="sliders_digit_class").options == list(FASHION_CLASSES)
    assert SOURCE_LABEL in texts(at, "caption")


def test_interpolation_walks_between_clothes(fashion_checkpoints, monkeypatch):
    at = open_page("app_pages/interpolate.py", fashion_checkpoints, monkeypatch, MODEL)
    assert at.selectbox(key="interpolate_start_class").options == list(FASHION_CLASSES)
    assert at.selectbox(key="interpolate_start_class").value == 1  # Trouser
    assert SOURCE_LABEL in texts(at, "caption")


def test_a_link_index_names_an_image_of_the_fashion_test_set(fashion_checkpoints, monkeypatch):
    at = open_page("app_pages/sliders.py", fashion_checkpoints, monkeypatch, MODEL)
    at.radio(key="sliders_digit_mode").set_value("By index").run()
    at.number_input(key="sliders_digit_index").set_value(9999).run()  # the embedded set has 5,000
    assert not at.exception, at.exception
    assert at.number_input(key="sliders_digit_index").value == 9999


def test_another_models_fewer_images_keep_a_linked_index_in_range(fashion_checkpoints,
                                                                   monkeypatch):
    at = open_page("app_pages/sliders.py", fashion_checkpoints, monkeypatch, MODEL)
    at.radio(key="sliders_digit_mode").set_value("By index").run()
    at.number_input(key="sliders_digit_index").set_value(9999).run()
    at.session_state[state.ACTIVE_MODEL] = "shipped: tiny_digits"
    at.run()
    assert not at.exception, at.exception
    assert at.number_input(key="sliders_digit_index").value == 4999  # the last embedded digit
    assert at.selectbox(key="sliders_traverse_dim")  # the page went on drawing


def test_a_drawing_is_read_as_clothes_and_placed_among_them(fashion_checkpoints, monkeypatch):
    at = open_page("app_pages/draw.py", fashion_checkpoints, monkeypatch, MODEL)
    at.session_state["draw_input"] = ("canvas", data_url(stroke_png()))
    at.run()
    assert not at.exception, at.exception
    assert "learned from clothes" in texts(at, "info")
    metrics = {metric.label: metric.value for metric in at.metric}
    assert metrics["The linear probe's guess"] in FASHION_CLASSES
    captions = " | ".join(caption for image in at.get("image") for caption in image.captions)
    assert any(f"({name})" in captions for name in FASHION_CLASSES), captions


def test_ae_vs_vae_walks_between_the_left_models_clothes(fashion_checkpoints, monkeypatch):
    at = open_page("app_pages/ae_vs_vae.py", fashion_checkpoints, monkeypatch)
    at.selectbox(key="ae_vs_vae_left_model").set_value("shipped: tiny_fashion").run()
    assert not at.exception, at.exception
    assert SOURCE_LABEL in texts(at, "caption")
    assert at.selectbox(key="ae_vs_vae_start_class").options == list(FASHION_CLASSES)


def test_samples_say_they_are_clothes(fashion_checkpoints, monkeypatch):
    at = open_page("app_pages/samples.py", fashion_checkpoints, monkeypatch, MODEL)
    assert "learned from clothes" in texts(at, "caption")


def test_home_shows_clothes_and_their_reconstructions(fashion_checkpoints, monkeypatch):
    at = open_page("app_pages/home.py", fashion_checkpoints, monkeypatch, MODEL)
    assert at.subheader[0].value == "Clothes and their reconstructions"


def test_denoising_corrupts_clothes(fashion_checkpoints, monkeypatch):
    at = open_page("app_pages/denoise.py", fashion_checkpoints, monkeypatch, MODEL)
    assert at.selectbox(key="denoise_source").options == [SOURCE_LABEL]
    assert at.selectbox(key="denoise_class").options == ["any", *FASHION_CLASSES]


def test_the_bottleneck_scores_a_fashion_model_on_clothes_only(fashion_checkpoints, monkeypatch):
    at = open_page("app_pages/bottleneck.py", fashion_checkpoints, monkeypatch, MODEL)
    assert at.selectbox(key="bottleneck_source").value == "fashion-test"
    assert list(at.dataframe[0].value["model"]) == ["shipped: tiny_fashion"]
    assert "not scored here: shipped: tiny_digits" in texts(at, "caption")


def test_few_labels_come_from_fashion_mnist(fashion_checkpoints, monkeypatch):
    at = open_page("app_pages/few_labels.py", fashion_checkpoints, monkeypatch, MODEL)
    at.slider(key="few_labels_per_class").set_value(1)
    at.button(key="FormSubmitter:few_labels_form-Train and compare").click().run()
    assert not at.exception, at.exception
    assert "10 labelled clothes (1 per class) from fashion-mnist" in at.caption[0].value


def test_the_anomaly_page_holds_out_a_class_of_clothes(fashion_checkpoints, monkeypatch):
    at = open_page("app_pages/anomaly.py", fashion_checkpoints, monkeypatch, MODEL)
    assert at.selectbox(key="anomaly_class").options == list(FASHION_CLASSES)
    assert "saw T-shirt/tops in training" in texts(at, "warning")
    at.slider(key="anomaly_train_epochs").set_value(1)
    at.select_slider(key="anomaly_train_latent").set_value(4)
    at.button(key="FormSubmitter:anomaly_train-Train without T-shirt/tops").click().run()
    assert not at.exception, at.exception
    trained = at.session_state[state.SESSION_MODELS]["session: ae_4_no0"].train_config
    assert (trained.dataset, trained.exclude_classes) == ("fashion-mnist", (0,))


def test_the_map_sends_a_fashion_test_image_to_the_sliders(fashion_checkpoints, monkeypatch,
                                                           submitted):
    at = open_page("app_pages/latent_map.py", fashion_checkpoints, monkeypatch, MODEL)
    at.number_input(key="latent_map_index").set_value(9999).run()
    at.button(key="latent_map_to_sliders").click().run()
    assert not at.exception, at.exception
    assert at.radio(key="sliders_digit_mode").value == "By index"
    assert at.number_input(key="sliders_digit_index").value == 9999
