"""Your own images as a person brings them: a zip of letters uploaded on the Train page in
Chromium, shown with its classes, and one epoch trained on it (fixtures in conftest.py)."""

from __future__ import annotations

import pytest

from tests.browser.conftest import open_page, sidebar_model, wait_for_app
from tests.browser.test_train_page import small_model
from tests.letters import make_letters, zip_folder

pytestmark = pytest.mark.browser

# The code chart's legend names only letters (its sample, the validation images, may miss one).
LEGEND = """names => {
    const charts = [...document.querySelectorAll("[data-testid='stPlotlyChart']")].slice(1);
    const shown = charts.flatMap(chart => [...chart.querySelectorAll(".legendtext")])
        .map(text => text.textContent);
    return shown.length > 0 && shown.every(name => names.includes(name));
}"""


def test_a_zip_of_letters_uploads_and_trains_one_epoch(page, app_url, tmp_path):
    archive = tmp_path / "letters.zip"
    archive.write_bytes(zip_folder(make_letters(tmp_path / "letters", per_class=10), "letters/"))
    open_page(page, app_url, "Train", "Train a model")
    page.get_by_text("Your own images", exact=True).click()
    page.locator(".st-key-train_images_upload input[type='file']").set_input_files(archive)
    page.get_by_text("A: 10 · B: 10 · C: 10").wait_for(timeout=120_000)
    wait_for_app(page, 60_000)
    picked = page.locator(".st-key-train_dataset input").input_value()
    assert picked == "Your images: letters.zip (3 classes)"  # the dataset to train on
    small_model(page, epochs=1)
    page.get_by_role("button", name="Train", exact=True).click()
    page.get_by_text("is this session's active model").wait_for(timeout=120_000)
    wait_for_app(page, 60_000)
    assert page.get_by_text("ae_2: 1/1 epochs").count() == 1
    assert sidebar_model(page) == "session: ae_2"
    # The live view's codes are coloured by the letters, named in its legend.
    page.wait_for_function(LEGEND, arg=["A", "B", "C"], timeout=60_000)
