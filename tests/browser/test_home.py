"""The app opens in a real browser on the shipped default model."""

from tests.browser.conftest import PROJECT_ROOT, wait_for_app


def test_home_shows_digits_and_reconstructions(page, app_url):
    page.goto(app_url)
    wait_for_app(page)
    page.get_by_text("Digits and their reconstructions").wait_for()
    # The grid (its caption says so), not another picture that may come before it in the page.
    image = page.locator("[data-testid='stImage']").filter(has_text="Top: real").locator("img")
    image.wait_for()
    # The picture is a real PNG of 2 rows x 10 digits, not a broken image (once it has loaded:
    # the element can come a moment before its bytes).
    page.wait_for_function("img => img.complete && img.naturalWidth > 0",
                           arg=image.element_handle(), timeout=60_000)
    assert image.evaluate("img => img.naturalWidth") > 500
    assert page.get_by_text("Compression").count() >= 1


def test_a_direct_link_to_a_page_keeps_the_sidebar(page, app_url):
    # Regression: with the pages in a folder named `pages/`, Streamlit ran a direct link
    # as a lone script, without app.py's sidebar and model picker.
    page.goto(app_url + "/sliders")
    page.get_by_role("heading", name="Bottleneck sliders").wait_for()
    # The sidebar and the page arrive in one run but not in one frame: wait for what stays.
    page.get_by_text("Load a checkpoint").wait_for(timeout=60_000)
    wait_for_app(page, 60_000)
    assert page.get_by_text("Load a checkpoint").count() == 1
    card = page.locator("[data-testid='stSidebar']").inner_text()
    assert "MLP autoencoder" in card and "latent size 32" in card  # the default ae_32


def test_uploading_a_checkpoint_bad_then_good(page, app_url, tmp_path):
    import pickle

    page.goto(app_url)
    wait_for_app(page)
    page.get_by_text("Digits and their reconstructions").wait_for()
    upload = page.locator("[data-testid='stSidebar'] .st-key-sidebar_upload input[type='file']")
    sidebar = page.locator("[data-testid='stSidebar']")

    hostile = tmp_path / "hostile.safetensors"
    hostile.write_bytes(pickle.dumps({"weights": [1, 2, 3]}))  # a pickle in disguise
    upload.set_input_files(str(hostile))
    page.get_by_text("hostile.safetensors was not loaded").wait_for()
    assert "latent size 32" in sidebar.inner_text()  # the current model stays

    good = tmp_path / "my_vae.safetensors"
    good.write_bytes((PROJECT_ROOT / "checkpoints" / "vae_2.safetensors").read_bytes())
    upload.set_input_files(str(good))
    sidebar.get_by_text("Variational autoencoder (MLP)").wait_for()  # (the home page lists
    # the shipped models too)
    wait_for_app(page)
    page.get_by_text("2 numbers").wait_for()  # the page itself now shows the uploaded model
    assert "latent size 2" in sidebar.inner_text()
    assert page.get_by_text("was not loaded").count() == 0


# A card for every page but this one (as many as the sidebar lists, less Home), each with its
# picture loaded.
CARD_IMAGES_LOADED = """() => {
    const cards = [...document.querySelectorAll("[class*='st-key-home_card_']")];
    const pages = document.querySelectorAll("[data-testid='stSidebarNav'] a").length;
    return pages > 1 && cards.length === pages - 1 && cards.every(card => {
        const image = card.querySelector("img");
        return image !== null && image.complete && image.naturalWidth > 0;
    });
}"""


def test_a_card_shows_a_live_picture_and_opens_its_page(page, app_url):
    page.goto(app_url)
    wait_for_app(page, 60_000)
    page.get_by_text("What you can do").wait_for()
    page.wait_for_function(CARD_IMAGES_LOADED, timeout=60_000)
    assert page.get_by_text("The shipped models").count() == 1
    # Streamlit scrolls inside its own container: a taller window shows the whole front door.
    page.set_viewport_size({"width": 1400, "height": 1900})
    wait_for_app(page)
    page.wait_for_function(CARD_IMAGES_LOADED)
    page.screenshot(path=str(PROJECT_ROOT / "docs" / "home.png"))
    page.set_viewport_size({"width": 1400, "height": 1000})
    page.locator(".st-key-home_card_latent_map a").click()
    page.get_by_role("heading", name="Latent map").wait_for(timeout=60_000)
    wait_for_app(page, 60_000)
    assert "/latent_map" in page.url


def test_start_the_tour_opens_the_sliders(page, app_url):
    page.goto(app_url)
    wait_for_app(page, 60_000)
    page.get_by_role("button", name="Start the tour").click()
    page.get_by_role("heading", name="Bottleneck sliders").wait_for(timeout=60_000)
    assert "/sliders" in page.url
