"""The Train page under AppTest: the family list, a real (tiny) run, saving, and failures."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch
from streamlit.testing.v1 import AppTest

from ae_core.checkpoint import load_checkpoint
from ae_core.config import PRESETS, ModelConfig, TrainConfig
from ae_core.models import REGISTRY
from ae_core.models.mlp import MLPAutoencoder
from ae_core.models.vqvae import CODE_PRIOR_EPOCHS
from ae_core.train import EpochReport, prepare_data, train_model
from tests.pages import SHIPPED, open_page, sidebar_page
from ui import state
from ui.training import TrainingRun, checkpoint_path, split_data, view_digits


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


def test_the_page_trains_what_train_model_trains(monkeypatch, tmp_path):
    at = open_page("app_pages/train.py", tmp_path, monkeypatch)
    small_run(at)
    run = at.session_state[state.TRAIN_RUN]
    library = train_model(run.model_config, run.train_config)
    for name, value in library.model.state_dict().items():
        torch.testing.assert_close(run.checkpoint.model.state_dict()[name], value)
    assert [report.val for report in run.history] == [report.val for report in library.history]


def test_the_split_is_loaded_once_per_data_setting():
    config = TrainConfig(epochs=3)
    train, val = split_data(config)
    expected_train, expected_val = prepare_data(config)
    assert torch.equal(train.images, expected_train.images)
    assert torch.equal(val.labels, expected_val.labels)
    assert split_data(replace(config, epochs=9, lr=1e-2))[0] is train  # no reload
    assert split_data(replace(config, seed=1))[0] is not train
    held_out = split_data(replace(config, exclude_classes=(3,)))[0]
    assert 3 not in held_out.labels.tolist()


def test_a_trained_models_results_stay_in_its_session(monkeypatch, tmp_path):
    """What a session model gives (its codes, its dimensions' summary) is kept in that session,
    not in the shared caches, where it would outlive the session and push the shipped models'
    entries out (tests/test_model_cache.py shows the two paths apart)."""
    at = open_page("app_pages/train.py", tmp_path, monkeypatch)
    small_run(at)
    at.switch_page("app_pages/sliders.py").run()
    assert not at.exception, at.exception
    key = at.session_state[state.SESSION_MODELS]["session: tiny"].info["session_key"]
    kept = {name for name, model_key, *_ in at.session_state[state.SESSION_RESULTS]
            if model_key == repr(key)}
    assert {"encoded_digits", "_latent_summary"} <= kept


def test_the_learning_rate_schedule_is_a_choice_on_the_page(monkeypatch, tmp_path):
    at = open_page("app_pages/train.py", tmp_path, monkeypatch)
    schedule = at.selectbox(key="train_lr_schedule")
    assert schedule.value == "none" and set(schedule.options) >= {"Constant"}
    schedule.set_value("cosine").run()
    small_run(at)
    assert at.session_state[state.TRAIN_RUN].train_config.lr_schedule == "cosine"


def test_the_code_prior_epochs_are_offered_where_a_family_declares_them(monkeypatch, tmp_path):
    """The widget comes from the VQ-VAE's declaration (ae_core.models.vqvae), like any
    family setting: offered for that family, absent for the others."""
    owners = [name for name, model_class in REGISTRY.items()
              if CODE_PRIOR_EPOCHS in model_class.settings]
    assert owners == ["vqvae"]
    at = open_page("app_pages/train.py", tmp_path, monkeypatch)
    for family in ("ae", "vae", "conv_ae", "vqvae"):  # the VQ-VAE last: its widget is read
        at.selectbox(key="train_family").set_value(family).run()
        offered = "Code prior epochs" in {widget.label for widget in at.number_input}
        assert offered == (family in owners), family
    widget = at.number_input(key="train_code_prior_epochs")
    assert widget.value == CODE_PRIOR_EPOCHS.default and widget.min == 0
    assert "0: no learned prior" in widget.help


def small_vq_run(at: AppTest, prior_epochs: int) -> None:
    """A tiny VQ-VAE for one epoch on the zeros only (about 450 digits)."""
    at.selectbox(key="train_family").set_value("vqvae").run()
    at.number_input(key="train_latent_dim").set_value(2)
    at.text_input(key="train_conv_channels").set_value("4, 8")
    at.number_input(key="train_codebook_size").set_value(8)
    at.number_input(key="train_code_prior_epochs").set_value(prior_epochs)
    at.multiselect(key="train_exclude_classes").set_value(list(range(1, 10)))
    at.number_input(key="train_epochs").set_value(1)
    at.select_slider(key="train_batch_size").set_value(512)
    at.text_input(key="train_name").set_value(f"vq{prior_epochs}").run()
    at.button(key="train_start").click().run()
    assert not at.exception, at.exception


def test_a_vqvae_trained_here_samples_from_the_prior_it_was_given(monkeypatch, tmp_path):
    at = open_page("app_pages/train.py", tmp_path, monkeypatch)
    small_vq_run(at, prior_epochs=1)
    run = at.session_state[state.TRAIN_RUN]
    assert run.finished and not run.stop_reason
    assert run.checkpoint.model.code_prior is not None
    assert {"prior_bits_per_position", "independent_bits_per_position"} <= set(
        run.checkpoint.metrics)
    notes = " ".join(info.value for info in at.info)
    assert "draw from the prior learned over the 7x7 code grid" in notes
    assert "Prior bits per position" in {metric.label for metric in at.metric}
    at.text_input(key="train_save_name").set_value("vq_prior").run()
    at.button(key="train_save").click().run()
    assert load_checkpoint(state.SAVED_DIR / "vq_prior.safetensors").model.code_prior is not None

    small_vq_run(at, prior_epochs=0)
    run = at.session_state[state.TRAIN_RUN]
    assert run.checkpoint.model.code_prior is None
    assert "prior_bits_per_position" not in run.checkpoint.metrics
    assert "this model has no learned prior" in " ".join(info.value for info in at.info)


def test_a_run_cut_while_fitting_its_code_prior_keeps_the_model_without_it(monkeypatch,
                                                                          tmp_path, digits):
    at = open_page("app_pages/train.py", tmp_path, monkeypatch)
    model_config = ModelConfig(family="vqvae", latent_dim=2, conv_channels=(4, 8),
                               codebook_size=8)
    model = REGISTRY["vqvae"](model_config).eval()
    fixed, sample = view_digits(digits)
    report = EpochReport(1, 1, {"loss": 200.0}, {"loss": 190.0}, 1.0, 1e-3, 0.5)
    # What the callback leaves when a click interrupts the script during the prior's fit.
    at.session_state[state.TRAIN_RUN] = TrainingRun("cut", "vqvae", model_config,
                                                    TrainConfig(epochs=1), fixed, sample,
                                                    [report], model, fitting="code prior")
    at.run()
    assert not at.exception
    assert ("stopped while fitting its code prior, once its 1 epoch had run: the model is "
            "kept without it") in " ".join(info.value for info in at.info)
    assert at.session_state[state.TRAIN_RUN].checkpoint.model.code_prior is None
