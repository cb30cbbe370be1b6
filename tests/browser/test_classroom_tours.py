"""A teacher's tour in a real browser: uploading one and stepping it with Next."""

from tests.browser.conftest import PROJECT_ROOT, wait_for_app

SHIPPED = PROJECT_ROOT / "tours" / "tutorial_story.json"


def bar_counter(tab, step: int, steps: int = 7):
    return tab.locator(".st-key-classroom_bar").get_by_text(f"{step} / {steps}", exact=True)


def test_an_uploaded_tour_steps_forward_with_next(page, app_url):
    page.goto(app_url + "/?present=1")
    wait_for_app(page, 60_000)
    page.get_by_role("button", name="Teacher's tools").click()
    page.locator(".st-key-classroom_upload input[type='file']").set_input_files(str(SHIPPED))
    bar_counter(page, 1).wait_for(timeout=60_000)
    page.get_by_role("heading", name="Bottleneck sliders").wait_for(timeout=60_000)
    wait_for_app(page, 60_000)
    for step, title in ((2, "Bottleneck effect"), (3, "Denoising")):
        page.locator(".st-key-classroom_next button").click()
        page.get_by_role("heading", name=title).wait_for(timeout=60_000)
        bar_counter(page, step).wait_for(timeout=60_000)
        wait_for_app(page, 60_000)
    # It stays: another run of the page (a click elsewhere) does not fall back to step 1.
    page.get_by_role("button", name="Teacher's tools").click()
    wait_for_app(page, 60_000)
    page.keyboard.press("Escape")
    wait_for_app(page, 60_000)
    assert bar_counter(page, 3).is_visible()
    assert "/denoise" in page.url
    assert not page.get_by_text("Loaded 'The autoencoder story'").is_visible()
