"""The app opens in a real browser on the shipped default model."""

from tests.browser.conftest import wait_for_app


def test_home_shows_digits_and_reconstructions(page, app_url):
    page.goto(app_url)
    wait_for_app(page)
    page.get_by_text("Digits and their reconstructions").wait_for()
    image = page.locator("[data-testid='stImage'] img").first
    image.wait_for()
    # The picture is a real PNG of 2 rows x 10 digits, not a broken image.
    assert image.evaluate("img => img.complete && img.naturalWidth") > 500
    assert page.get_by_text("Compression").count() >= 1


def test_a_direct_link_to_a_page_keeps_the_sidebar(page, app_url):
    # Regression: with the pages in a folder named `pages/`, Streamlit ran a direct link
    # as a lone script, without app.py's sidebar and model picker.
    page.goto(app_url + "/sliders")
    page.get_by_text("Decoded from the sliders").wait_for()
    assert page.get_by_text("Load a checkpoint").count() == 1
    card = page.locator("[data-testid='stSidebar']").inner_text()
    assert "MLP autoencoder" in card and "latent size 32" in card  # the default ae_32
