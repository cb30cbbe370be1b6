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


# The page's pictures (server PNGs, browser-decoded canvases, charts) outside the tour bar, once
# drawn: the top edge of the highest one on screen, in CSS pixels from the viewport's top.
FIRST_PICTURE_TOP = """() => {
    const pictures = [...document.querySelectorAll(
        "[data-testid='stMain'] [data-testid='stImage'] img, [data-testid='stMain'] .ll-canvas,"
        + " [data-testid='stMain'] .js-plotly-plot")]
        .filter(element => !element.closest(".st-key-classroom_bar"))
        .map(element => element.getBoundingClientRect())
        .filter(box => box.height > 50);
    return pictures.length ? Math.min(...pictures.map(box => box.top)) : null;
}"""
# What step 4 asks the class to look at: the 2-D code plane, the digit it decodes, and the
# sliders' live digit; each one's [top, bottom] in CSS pixels once drawn, else null.
STEP_4_PICTURES = """() => [".st-key-sliders_plane .ll-plane", ".st-key-sliders_plane .ll-canvas",
                            ".st-key-sliders_live .ll-decoded .ll-canvas"].map(selector => {
    const box = document.querySelector(selector)?.getBoundingClientRect();
    return box && box.height > 50 ? [box.top, box.bottom] : null;
})"""
SHIPPED_PAGES = ["Bottleneck sliders", "Bottleneck effect", "Denoising", "Bottleneck sliders",
                 "Interpolation", "Latent map", "Anomaly detection"]


def test_on_a_projector_every_steps_picture_is_on_the_first_screen(browser, app_url):
    """1280x720 in classroom mode: on every step of the shipped tour the page's main picture
    starts on the first screen; step 4's code plane and live digits are wholly on it; step 3
    asks before it answers; step 7 opens on clothes."""
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    tab = context.new_page()
    tab.set_default_timeout(60_000)
    try:
        tab.goto(app_url + "/?present=1")
        wait_for_app(tab, 60_000)
        tab.locator(".st-key-classroom_start button").click()
        tops = []
        for step, title in enumerate(SHIPPED_PAGES, start=1):
            tab.get_by_role("heading", name=title).wait_for(timeout=60_000)
            bar_counter(tab, step).wait_for(timeout=60_000)
            wait_for_app(tab, 90_000)
            tab.wait_for_function(f"() => ({FIRST_PICTURE_TOP})() !== null", timeout=90_000)
            tops.append(tab.evaluate(FIRST_PICTURE_TOP))
            assert 0 <= tops[-1] < 720 - 100, (step, tops)  # its top and some of it on screen
            if step == 4:  # "move across the plane": the plane and its digits, wholly on screen
                tab.wait_for_function(f"() => ({STEP_4_PICTURES})().every(edges => edges)")
                edges = tab.evaluate(STEP_4_PICTURES)
                assert all(0 <= top and bottom <= 720 for top, bottom in edges), edges
            if step == 3:  # a question: Next shows the answer, the next Next moves on
                tab.locator(".st-key-classroom_guess_2").get_by_text("A clean digit").click()
                wait_for_app(tab, 60_000)
                tab.get_by_role("button", name="Next").click()
                tab.get_by_text("Right! Answer: A clean digit.").wait_for()
                assert bar_counter(tab, 3).is_visible()
            if step < len(SHIPPED_PAGES):
                tab.get_by_role("button", name="Next").click()
        # The last step set the page's choice: Fashion-MNIST clothes, not the default.
        chosen = tab.locator(".st-key-anomaly_kind input[type='radio']:checked")
        assert chosen.evaluate("input => input.closest('label').innerText").startswith(
            "Fashion-MNIST clothes")
        tab.screenshot(path=str(PROJECT_ROOT / "docs" / "classroom_projector.png"))
    finally:
        context.close()
