"""The Anomaly detection page under AppTest, on small real checkpoints and the shipped ae_32."""

from __future__ import annotations

import json
import re

import pytest
from streamlit.testing.v1 import AppTest

from tests.pages import SHIPPED, open_page
from ui import sources, state

SHIPPED_AE = SHIPPED / "ae_32.safetensors"


def metric(at: AppTest, label: str) -> str:
    return next(item.value for item in at.metric if item.label == label)


needs_shipped = pytest.mark.skipif(not SHIPPED_AE.is_file(),
                                   reason="checkpoints/ae_32.safetensors is not shipped")


@needs_shipped
def test_noise_is_flagged_and_the_threshold_rule_matters(checkpoint_dir, monkeypatch):
    # A trained model: a one-epoch one rebuilds digits so badly that uniform noise (error
    # about 1/12 whatever the model outputs) can look *less* anomalous than a digit.
    at = open_page("app_pages/anomaly.py", checkpoint_dir, monkeypatch, "ae_32")
    at.radio(key="anomaly_kind").set_value("noise").run()
    assert float(metric(at, "ROC AUC")) > 0.99
    assert float(metric(at, "Detection rate").rstrip("%")) > 99
    quantile_cut = metric(at, "Threshold (MSE / pixel)")
    at.slider(key="anomaly_quantile").set_value(0.7).run()
    assert float(metric(at, "False-alarm rate").rstrip("%")) == pytest.approx(30, abs=1.5)
    at.radio(key="anomaly_rule").set_value("mean_std").run()
    assert metric(at, "Threshold (MSE / pixel)") != quantile_cut
    [gallery] = at.get("image")
    assert len(gallery.value) == 16
    assert all(caption.startswith("⚠ anomaly") for caption in gallery.captions)
    histogram, roc = at.get("plotly_chart")
    assert len(json.loads(histogram.proto.spec)["data"]) == 2


def test_a_held_out_class_offers_a_quick_model_that_becomes_active(checkpoint_dir,
                                                                   monkeypatch):
    at = open_page("app_pages/anomaly.py", checkpoint_dir, monkeypatch, "tiny_plain")
    assert at.selectbox(key="anomaly_class").value == 0
    assert any("saw 0s in training" in warning.value for warning in at.warning)
    auc_before = float(metric(at, "ROC AUC"))
    at.select_slider(key="anomaly_train_latent").set_value(8)
    at.slider(key="anomaly_train_epochs").set_value(1)
    at.button(key="FormSubmitter:anomaly_train-Train without 0s").click().run()
    assert not at.exception
    assert at.session_state[state.ACTIVE_MODEL] == "session: ae_8_no0"
    checkpoint = at.session_state[state.SESSION_MODELS]["session: ae_8_no0"]
    assert checkpoint.train_config.exclude_classes == (0,)
    assert not at.warning  # this model never saw a 0
    assert float(metric(at, "ROC AUC")) != auc_before


@needs_shipped
def test_fashion_images_are_anomalies_to_a_digit_model(checkpoint_dir, monkeypatch):
    if not sources.source_available("fashion-test"):
        pytest.skip("Fashion-MNIST is not in /usr/share/datasets/fashion-mnist")
    at = open_page("app_pages/anomaly.py", checkpoint_dir, monkeypatch, "ae_32")
    at.radio(key="anomaly_kind").set_value("ood").run()
    assert not at.exception and float(metric(at, "ROC AUC")) > 0.8
    # The caption counts what the histogram's legend counts (500 held-out digits, not 2,000).
    figure = json.loads(at.get("plotly_chart")[0].proto.spec)
    legend = " ".join(trace.get("name", "") for trace in figure["data"])
    caption = next(caption.value for caption in at.caption if "normal test images" in
                   caption.value)
    normal = re.search(r"The first ([\d,]+) normal", caption).group(1).replace(",", "")
    assert f"({normal})" in legend, (caption, legend)


def test_a_conditional_model_is_refused_with_a_reason(checkpoint_dir, monkeypatch):
    at = open_page("app_pages/anomaly.py", checkpoint_dir, monkeypatch, "tiny_cvae")
    assert any("conditional model" in warning.value for warning in at.warning)
    assert not at.metric


def test_digits_are_out_of_distribution_to_a_fashion_model(monkeypatch):
    if not (SHIPPED / "fashion_conv_ae_32.safetensors").is_file() or not all(
            sources.source_available(source) for source in ("fashion-test", "mnist-test")):
        pytest.skip("needs checkpoints/fashion_conv_ae_32.safetensors and both test sets")
    at = open_page("app_pages/anomaly.py", SHIPPED, monkeypatch, "fashion_conv_ae_32")
    assert at.selectbox(key="anomaly_source").options == [sources.SOURCES["fashion-test"]]
    at.radio(key="anomaly_kind").set_value("ood").run()
    assert not at.exception
    assert "MNIST digits" in at.radio(key="anomaly_kind").options[1]
    histogram, roc = at.get("plotly_chart")
    assert len(json.loads(roc.proto.spec)["data"]) >= 1
    assert 0.0 <= float(metric(at, "ROC AUC")) <= 1.0
