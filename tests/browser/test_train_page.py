"""Training as a person does it: Chromium on `streamlit run` (fixtures in conftest.py)."""

from __future__ import annotations

import time

import pytest

from tests.browser.conftest import open_page, sidebar_model, wait_for_app

pytestmark = pytest.mark.browser

# The epoch the training progress bar names ("Epoch N/M ..."), compared with a minimum.
EPOCH_AT_LEAST = """minimum => [...document.querySelectorAll("[data-testid='stProgress']")]
    .some(bar => {
        const found = /Epoch (\\d+)\\//.exec(bar.innerText);
        return found !== null && Number(found[1]) >= minimum;
    })"""


def enter(tab, label: str, value: str) -> None:
    """Type into a labelled input and commit it (one rerun)."""
    field = tab.get_by_label(label, exact=True)
    field.fill(value)
    field.press("Enter")
    time.sleep(0.3)
    wait_for_app(tab, 60_000)


def small_model(page, epochs: int) -> None:
    enter(page, "Latent size", "2")
    enter(page, "Hidden sizes", "32")
    enter(page, "Epochs", str(epochs))


def test_training_one_epoch_fills_the_progress_bar(page, app_url):
    open_page(page, app_url, "Train", "Train a model")
    small_model(page, epochs=1)
    page.get_by_role("button", name="Train", exact=True).click()
    page.get_by_text("is this session's active model").wait_for(timeout=120_000)
    wait_for_app(page, 60_000)
    assert page.get_by_text("ae_2: 1/1 epochs").count() == 1
    bar = page.locator("[data-testid='stProgress'] [role='progressbar']")
    assert bar.get_attribute("aria-valuenow") == "100"
    assert sidebar_model(page) == "session: ae_2"  # the picker shows the new model
    # Plotly's chunk loads lazily: on a busy machine the charts appear after the rerun ends.
    charts = page.locator("[data-testid='stPlotlyChart']")
    charts.nth(1).wait_for(timeout=60_000)
    assert charts.count() == 2


@pytest.mark.slow
def test_stop_keeps_the_last_finished_epoch(page, app_url):
    open_page(page, app_url, "Train", "Train a model")
    small_model(page, epochs=200)
    page.get_by_role("button", name="Train", exact=True).click()
    # The status line moves fast ("Epoch 9/200" after 9 s here), so never wait for one exact
    # text: wait until the epoch it names is at least 3, which stays true once reached.
    page.wait_for_function(EPOCH_AT_LEAST, arg=3, timeout=120_000)  # so epoch 2 is done
    page.get_by_test_id("stMainBlockContainer").get_by_role("button", name="Stop").click()
    page.get_by_text("is this session's active model").wait_for(timeout=60_000)
    wait_for_app(page, 60_000)
    kept = page.get_by_text("Training stopped after epoch").inner_text()
    epochs = int(kept.split("after epoch ")[1].split(" ")[0])
    assert 2 <= epochs < 200
    assert sidebar_model(page) == "session: ae_2"
