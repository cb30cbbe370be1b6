"""Saving from the Train page (issue 12): into saved_models/, never over a shipped model or a
model another session saved; the same session may replace its own."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from ae_core.checkpoint import load_checkpoint
from ui import state

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def trained(monkeypatch) -> AppTest:
    """The Train page after one epoch of a tiny model, shipped models in checkpoints/."""
    monkeypatch.setenv("LATENT_LAB_UMAP_WARMUP", "0")
    monkeypatch.setattr(state, "CHECKPOINT_DIR", ROOT / "checkpoints")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180).run()
    at.switch_page("app_pages/train.py").run()
    at.number_input(key="train_latent_dim").set_value(2)
    at.text_input(key="train_hidden_sizes").set_value("16")
    at.number_input(key="train_epochs").set_value(1)
    at.select_slider(key="train_batch_size").set_value(512)
    at.text_input(key="train_name").set_value("tiny").run()
    at.button(key="train_start").click().run()
    assert not at.exception, at.exception
    return at


def test_a_saved_model_goes_to_saved_models_and_is_listed(trained):
    shipped = (ROOT / "checkpoints" / "ae_32.safetensors").read_bytes()
    # A shipped model's name is refused (issue 24: one name, one model in the sidebar).
    trained.text_input(key="train_save_name").set_value("ae_32").run()
    assert "ae_32 is a shipped model's name" in trained.error[0].value
    assert trained.button(key="train_save").disabled
    trained.text_input(key="train_save_name").set_value("my_ae_32").run()
    assert not trained.button(key="train_save").disabled
    trained.button(key="train_save").click().run()
    assert load_checkpoint(state.SAVED_DIR / "my_ae_32.safetensors").model_config.latent_dim == 2
    assert (ROOT / "checkpoints" / "ae_32.safetensors").read_bytes() == shipped
    trained.switch_page("app_pages/home.py").run()
    options = trained.sidebar.selectbox(key=state.ACTIVE_MODEL).options
    assert {"shipped: ae_32", "saved: my_ae_32"} <= set(options)


def test_a_session_saves_under_a_few_names_and_the_folder_keeps_its_cap(trained, monkeypatch):
    from ui import training

    for number in range(training.MAX_SAVES_PER_SESSION):
        trained.text_input(key="train_save_name").set_value(f"run{number}").run()
        trained.button(key="train_save").click().run()
        assert not trained.exception and not trained.error, trained.error
    trained.text_input(key="train_save_name").set_value("one_more").run()
    trained.button(key="train_save").click().run()
    assert not trained.exception, trained.exception
    assert "this session has saved 5 models" in trained.error[0].value
    assert not (state.SAVED_DIR / "one_more.safetensors").exists()
    assert trained.get("download_button")  # the page goes on: the model can be downloaded
    # Replacing one of its own is still allowed; past the folder's cap the oldest go.
    size = (state.SAVED_DIR / "run0.safetensors").stat().st_size
    monkeypatch.setattr(training, "MAX_SAVED_BYTES", 2 * size)
    trained.text_input(key="train_save_name").set_value("run4").run()
    trained.checkbox(key="train_overwrite").check().run()
    trained.button(key="train_save").click().run()
    assert not trained.exception and not trained.error, trained.error
    assert sorted(p.name for p in state.SAVED_DIR.glob("*.safetensors")) == [
        "run3.safetensors", "run4.safetensors"]


def test_the_fallback_message_shows_visitors_no_server_path(trained, monkeypatch):
    blocked = state.SAVED_DIR / "blocked"
    blocked.write_text("a file where the folder should be")
    monkeypatch.setattr(state, "SAVED_DIR", blocked / "inside")
    trained.text_input(key="train_save_name").set_value("lost").run()
    trained.button(key="train_save").click().run()
    assert not trained.exception, trained.exception
    shown = " ".join(element.value for element in [*trained.error, *trained.success])
    assert "temporary file on the server" in shown, shown
    assert "/" not in shown.replace("its log says where", ""), shown


def test_another_sessions_model_is_never_replaced(trained):
    other = state.SAVED_DIR / "theirs.safetensors"
    other.write_bytes((ROOT / "checkpoints" / "ae_2.safetensors").read_bytes())
    trained.text_input(key="train_save_name").set_value("theirs").run()
    assert "theirs.safetensors is another model's name" in trained.warning[0].value
    assert trained.button(key="train_save").disabled
    assert not [box for box in trained.checkbox if box.key == "train_overwrite"]
    assert other.read_bytes() == (ROOT / "checkpoints" / "ae_2.safetensors").read_bytes()


def test_this_session_may_replace_what_it_saved(trained):
    trained.text_input(key="train_save_name").set_value("mine").run()
    trained.button(key="train_save").click().run()
    trained.run()
    assert trained.button(key="train_save").disabled  # saved: replacing needs a tick
    trained.checkbox(key="train_overwrite").check().run()
    assert not trained.button(key="train_save").disabled
    trained.button(key="train_save").click().run()
    assert not trained.exception and not trained.error
    assert sorted(path.name for path in state.SAVED_DIR.iterdir()) == ["mine.safetensors"]
