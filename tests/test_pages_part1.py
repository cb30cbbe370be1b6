"""The Train, Bottleneck sliders and Interpolation pages under AppTest, on real checkpoints."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from streamlit.testing.v1 import AppTest

from ae_core.checkpoint import load_checkpoint, save_checkpoint
from ae_core.config import PRESETS, ModelConfig, TrainConfig
from ae_core.latent import encode_dataset
from ae_core.models import REGISTRY
from ae_core.models.mlp import MLPAutoencoder
from ae_core.train import EpochReport, fit
from tests.conftest import family_config
from ui import state
from ui.training import TrainingRun, checkpoint_path, view_digits

APP = str(Path(__file__).resolve().parents[1] / "app.py")
SHIPPED = Path(__file__).resolve().parents[1] / "checkpoints"


@pytest.fixture(autouse=True)
def no_umap_warm_up(monkeypatch):
    """These pages never use UMAP: no compile thread importing beside the script."""
    monkeypatch.setenv("LATENT_LAB_UMAP_WARMUP", "0")


@pytest.fixture(scope="module")
def tiny_checkpoints(tmp_path_factory, digits) -> Path:
    """A folder of small real checkpoints: a 2-D VAE and a conditional VAE, one epoch each."""
    folder = tmp_path_factory.mktemp("checkpoints")
    for name, family, latent_dim in (("vae_2", "vae", 2), ("cvae_3", "cvae", 3)):
        torch.manual_seed(0)
        model = REGISTRY[family](ModelConfig(family=family, latent_dim=latent_dim,
                                             hidden_sizes=(64,)))
        config = TrainConfig(epochs=1, batch_size=50)
        result = fit(model, digits, None, config)
        save_checkpoint(folder / f"{name}.safetensors", result.model, config,
                        result.final_metrics(), {"dataset": "mnist-embedded"})
    return folder


def open_page(page: str, folder: Path, monkeypatch, model: str | None = None,
              in_browser: bool = False) -> AppTest:
    """The app on `page` with `folder` as its checkpoints (and `model` active, if given).

    AppTest runs no JavaScript, so the sliders decode on the server unless `in_browser`.
    """
    monkeypatch.setenv("LATENT_LAB_CHECKPOINTS", str(folder))
    monkeypatch.setattr(state, "CHECKPOINT_DIR", folder)
    at = AppTest.from_file(APP, default_timeout=180)
    at.session_state["sliders_in_browser"] = in_browser
    if model is not None:
        at.session_state[state.ACTIVE_MODEL] = f"shipped: {model}"
    at.run()
    at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def image_urls(at: AppTest) -> list[str]:
    """Each st.image's URL in page order; AppTest names media by a hash of their bytes."""
    return [image.value[0] for image in at.get("image")]


def summary_order(at: AppTest) -> list[int]:
    """The dimensions the traversal offers, most important first."""
    return [int(option.split("]")[0][2:]) for option in
            at.selectbox(key="sliders_traverse_dim").options]


def sidebar_page(at: AppTest) -> None:
    """Back to the entry page, where app.py draws the sidebar."""
    at.switch_page("app_pages/home.py").run()
    assert not at.exception, at.exception


def decoded_url(at: AppTest) -> str:
    return next(image.value[0] for image in at.get("image")
                if image.captions == ["Decoded from the sliders"])


# Bottleneck sliders ------------------------------------------------------------------------


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
    digit_before, decoded_before = image_urls(at)[:2]
    slider = at.slider[0]
    start = slider.value
    target = slider.max if start < (slider.min + slider.max) / 2 else slider.min
    slider.set_value(target).run()
    assert not at.exception
    assert decoded_url(at) != decoded_before
    assert image_urls(at)[0] == digit_before  # the original digit does not move
    dimension = int(slider.key.rsplit("_", 1)[1])
    assert at.session_state["sliders_code"][dimension] == pytest.approx(target)
    at.button(key="sliders_reset").click().run()
    assert at.slider[0].value == pytest.approx(start)
    assert decoded_url(at) == decoded_before


def test_another_digit_moves_every_slider(monkeypatch):
    at = open_page("app_pages/sliders.py", SHIPPED, monkeypatch, "ae_32")
    values, urls = [s.value for s in at.slider], image_urls(at)
    at.number_input(key="sliders_digit_example").set_value(3).run()
    assert all(a != b for a, b in zip(values, [s.value for s in at.slider], strict=True))
    assert image_urls(at)[0] != urls[0]
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
    assert any("fitted to the digits' codes" in caption.value for caption in at.caption)


def test_traversal_sweeps_the_chosen_dimension(monkeypatch):
    at = open_page("app_pages/sliders.py", SHIPPED, monkeypatch, "ae_32")
    grid = image_urls(at)[-1]
    at.selectbox(key="sliders_traverse_dim").set_value(summary_order(at)[5]).run()
    assert not at.exception
    assert image_urls(at)[-1] != grid


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
    assert len(image_urls(at)) == 2


# Interpolation ------------------------------------------------------------------------------


def test_interpolation_strips_and_their_downloads(monkeypatch):
    at = open_page("app_pages/interpolate.py", SHIPPED, monkeypatch, "ae_32")
    latent, pixels = image_urls(at)
    assert [b.proto.label for b in at.get("download_button")] == [
        "Download the strip (PNG)", "Download the morph (animated GIF)"]
    at.radio(key="interpolate_method").set_value("slerp").run()
    assert image_urls(at)[0] != latent  # another path through the codes
    assert image_urls(at)[1] == pixels  # the cross-fade does not depend on it
    at.slider(key="interpolate_steps").set_value(5).run()
    assert image_urls(at)[1] != pixels
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
    latent = image_urls(at)[0]
    at.selectbox(key="interpolate_class").set_value(3).run()
    assert image_urls(at)[0] != latent


# Train --------------------------------------------------------------------------------------


def test_the_family_list_and_its_options(monkeypatch, tmp_path):
    at = open_page("app_pages/train.py", tmp_path, monkeypatch)
    assert at.info  # no model at all yet: the page says what to do
    names = [option.split(":")[0] for option in at.selectbox(key="train_family").options]
    assert set(REGISTRY) | set(PRESETS) == set(names)
    labels = {widget.label for widget in at.number_input}
    assert "β (KL weight)" not in labels
    at.selectbox(key="train_family").set_value("vae").run()
    assert "β (KL weight)" in {widget.label for widget in at.number_input}
    at.selectbox(key="train_family").set_value("conv_ae").run()
    assert "Conv channels" in {w.label for w in at.text_input}
    assert "Hidden sizes" not in {w.label for w in at.text_input}
    at.selectbox(key="train_family").set_value("dae").run()
    assert at.selectbox(key="train_noise_kind").value == "gaussian"
    assert at.slider(key="train_noise_level").value == pytest.approx(0.5)
    at.selectbox(key="train_family").set_value("ae").run()
    assert at.selectbox(key="train_noise_kind").value == "none"


def test_options_that_make_no_model_are_refused(monkeypatch, tmp_path):
    at = open_page("app_pages/train.py", tmp_path, monkeypatch)
    at.text_input(key="train_hidden_sizes").set_value("512, many").run()
    assert "Hidden sizes must be whole numbers" in at.error[0].value
    assert at.button(key="train_start").disabled
    at.text_input(key="train_hidden_sizes").set_value("64").run()
    at.number_input(key="train_latent_dim").set_value(1000).run()
    assert "larger than the 784-pixel input" in at.error[0].value
    assert at.button(key="train_start").disabled
    at.number_input(key="train_latent_dim").set_value(8).run()
    assert not at.error and not at.button(key="train_start").disabled
    at.multiselect(key="train_exclude_classes").set_value(list(range(10))).run()
    assert "leaves no class to train on" in at.error[0].value
    assert at.button(key="train_start").disabled


def small_run(at: AppTest, epochs: int = 1, latent_dim: int = 2) -> None:
    at.number_input(key="train_latent_dim").set_value(latent_dim)
    at.text_input(key="train_hidden_sizes").set_value("32")
    at.number_input(key="train_epochs").set_value(epochs)
    at.select_slider(key="train_batch_size").set_value(512)
    at.text_input(key="train_name").set_value("tiny").run()
    at.button(key="train_start").click().run()
    assert not at.exception, at.exception


def chosen_model(at: AppTest) -> str:
    """The model the session will show: a new one waits as pending until the picker runs."""
    if state.PENDING_ACTIVE_MODEL in at.session_state:
        return at.session_state[state.PENDING_ACTIVE_MODEL]
    return at.session_state[state.ACTIVE_MODEL]


def test_training_makes_a_session_model_and_saves_it(monkeypatch, tmp_path):
    at = open_page("app_pages/train.py", tmp_path, monkeypatch)
    small_run(at, epochs=2)
    run = at.session_state[state.TRAIN_RUN]
    assert run.finished and run.epochs_done == 2 and not run.diverged
    assert at.progress[0].value == 100
    assert chosen_model(at) == "session: tiny"
    assert len(at.get("plotly_chart")) == 2  # loss curves and the 2-D codes
    assert "after epoch 1 to 2" in at.get("image")[0].captions[0]
    assert run.history[1].val["recon_loss"] < run.history[0].val["recon_loss"]

    at.text_input(key="train_save_name").set_value("../outside").run()
    assert "Not a checkpoint name" in at.error[0].value
    assert at.button(key="train_save").disabled
    at.text_input(key="train_save_name").set_value("tiny_ae").run()
    at.button(key="train_save").click().run()
    saved = load_checkpoint(state.SAVED_DIR / "tiny_ae.safetensors")
    for name, value in run.checkpoint.model.state_dict().items():
        torch.testing.assert_close(saved.model.state_dict()[name], value)
    assert saved.info["epochs_completed"] == 2 and "session_key" not in saved.info

    at.run()  # the name is taken now: saving again needs a tick
    assert at.button(key="train_save").disabled
    at.checkbox(key="train_overwrite").check().run()
    assert not at.button(key="train_save").disabled

    sidebar_page(at)
    assert at.sidebar.selectbox(key=state.ACTIVE_MODEL).value == "session: tiny"
    assert "saved: tiny_ae" in at.sidebar.selectbox(key=state.ACTIVE_MODEL).options


def test_a_second_run_keeps_the_first_and_the_shipped_model_is_untouched(monkeypatch):
    at = open_page("app_pages/train.py", SHIPPED, monkeypatch)
    shipped = load_checkpoint(SHIPPED / "ae_2.safetensors").model.state_dict()
    small_run(at)
    small_run(at)
    assert chosen_model(at) == "session: tiny-2"
    sidebar_page(at)
    picker = at.sidebar.selectbox(key=state.ACTIVE_MODEL)
    assert picker.value == "session: tiny-2"
    assert {"session: tiny", "session: tiny-2"} <= set(picker.options)
    from ui.models import load_shipped

    path = SHIPPED / "ae_2.safetensors"
    cached = load_shipped(str(path), path.stat().st_mtime).model.state_dict()
    for name, value in shipped.items():
        torch.testing.assert_close(cached[name], value)


def test_an_interrupted_run_keeps_its_last_epoch(monkeypatch, tmp_path, digits):
    at = open_page("app_pages/train.py", tmp_path, monkeypatch)
    model_config = ModelConfig(latent_dim=4, hidden_sizes=(16,))
    train_config = TrainConfig(epochs=5)
    model = MLPAutoencoder(model_config).eval()
    fixed, sample = view_digits(digits)
    report = EpochReport(1, 5, {"loss": 200.0, "recon_loss": 200.0},
                         {"loss": 190.0, "recon_loss": 190.0}, 1.0, 1e-3, 0.5)
    # What the callback leaves when a click interrupts the script after epoch 1.
    at.session_state[state.TRAIN_RUN] = TrainingRun("cut", "ae", model_config, train_config,
                                                    fixed, sample, [report], model)
    at.run()
    assert not at.exception
    assert "stopped after epoch 1 of 5" in at.info[0].value
    assert chosen_model(at) == "session: cut"
    assert at.session_state[state.TRAIN_RUN].checkpoint.metrics["recon_loss"] == 190.0


class FallsApartAutoencoder(MLPAutoencoder):
    """An MLP autoencoder whose loss turns NaN after its first training epoch's steps."""

    steps_before_nan = 9  # 4,500 training digits in batches of 512

    def __init__(self, config: ModelConfig) -> None:
        super().__init__(config)
        self.steps = 0

    def loss(self, x, out, kl_weight=1.0):
        terms = super().loss(x, out, kl_weight)
        if self.training:
            self.steps += 1
            if self.steps > self.steps_before_nan:
                terms["loss"] = terms["loss"] * float("nan")
        return terms


def test_a_new_family_appears_and_a_nan_keeps_the_last_good_epoch(monkeypatch, tmp_path):
    monkeypatch.setitem(REGISTRY, "falls_apart", FallsApartAutoencoder)
    at = open_page("app_pages/train.py", tmp_path, monkeypatch)
    at.selectbox(key="train_family").set_value("falls_apart").run()
    assert "Hidden sizes" in {w.label for w in at.text_input}  # MLPAutoencoder's declaration
    small_run(at, epochs=3)
    run = at.session_state[state.TRAIN_RUN]
    assert run.diverged and run.epochs_done == 1
    assert "loss became nan at epoch 2" in at.error[0].value
    assert chosen_model(at) == "session: tiny"
    assert all(torch.isfinite(p).all() for p in run.checkpoint.model.parameters())


def test_a_dataset_that_is_not_there_says_so(monkeypatch, tmp_path):
    monkeypatch.setattr("ae_core.data.DEFAULT_DATA_ROOT", tmp_path / "no-data")
    at = open_page("app_pages/train.py", tmp_path, monkeypatch)
    at.selectbox(key="train_dataset").set_value("mnist").run()
    at.button(key="train_start").click().run()
    assert not at.exception
    assert "The dataset cannot be read: mnist train split not found" in at.error[0].value
    assert state.TRAIN_RUN not in at.session_state


def test_checkpoint_names_are_plain_file_names(tmp_path):
    assert checkpoint_path(tmp_path, "vae_16") == tmp_path / "vae_16.safetensors"
    assert checkpoint_path(tmp_path, " vae.v2.safetensors ") == tmp_path / "vae.v2.safetensors"
    for bad in ("../up", "a/b", ".hidden", "", "x" * 65, "a..b", "/abs"):
        with pytest.raises(ValueError):
            checkpoint_path(tmp_path, bad)
