"""Classroom mode in a real browser: ?present=1, the tour started from the front door, and a
presentation clicker's PageDown / PageUp stepping it."""

from tests.browser.conftest import PROJECT_ROOT, live_view, wait_for_app

# The key listener of the step on show is mounted (it marks which step it steps from).
KEYS_READY = """step => document.querySelector(".ll-tour-keys")?.dataset.step === String(step)"""

PICTURES_SHOWN = """() => {
    const images = [...document.querySelectorAll(
        "[data-testid='stMain'] [data-testid='stImage'] img")];
    return images.length > 0 && images.every(image => image.complete && image.naturalWidth > 0);
}"""


def at_step(tab, step: int, title: str) -> None:
    """Until step `step` is on show: its counter, its page's heading, its key listener."""
    tab.get_by_role("heading", name=title).wait_for(timeout=60_000)
    tab.locator(".st-key-classroom_bar").get_by_text(f"{step} / 7", exact=True).wait_for()
    tab.wait_for_function(KEYS_READY, arg=step, timeout=60_000)
    wait_for_app(tab, 60_000)


def test_present_mode_steps_the_tour_with_page_down_and_up(page, app_url):
    page.goto(app_url + "/?present=1")
    wait_for_app(page, 60_000)
    page.locator(".st-key-classroom_bar").wait_for()
    # No sidebar: the style that hides it comes with the page's elements, maybe after the bar.
    page.locator("[data-testid='stSidebar']").wait_for(state="hidden", timeout=60_000)
    page.locator(".st-key-home_tour button").click()
    at_step(page, 1, "Bottleneck sliders")
    assert "present=1" in page.url and "model=ae_32" in page.url

    # A clicker's PageDown steps the tour even while a slider has the focus.
    live_view(page, "sliders_live").locator("input[type='range']").first.focus()
    page.keyboard.press("PageDown")
    at_step(page, 2, "Bottleneck effect")
    assert "/bottleneck" in page.url and "present=1" in page.url
    page.locator("[data-testid='stSidebar']").wait_for(state="hidden", timeout=60_000)

    page.keyboard.press("PageUp")
    at_step(page, 1, "Bottleneck sliders")
    assert "/sliders" in page.url
    page.set_viewport_size({"width": 1400, "height": 1300})  # the bar, the digit, the sliders
    page.wait_for_function(PICTURES_SHOWN, timeout=60_000)
    page.screenshot(path=str(PROJECT_ROOT / "docs" / "classroom_mode.png"))

    # Arrow keys are the focused slider's: it moves, and the tour stays where it is.
    slider = live_view(page, "sliders_live").locator("input[type='range']").first
    before = slider.input_value()
    slider.focus()
    page.keyboard.press("ArrowRight")
    page.wait_for_function("([element, before]) => element.value !== before",
                           arg=[slider.element_handle(), before])
    wait_for_app(page, 60_000)
    assert page.locator(".st-key-classroom_bar").get_by_text("1 / 7", exact=True).is_visible()
    assert "/sliders" in page.url

