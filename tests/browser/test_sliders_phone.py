"""The bottleneck sliders on a phone (390x844): the decoded digit stays on screen while a
slider far down the list is dragged."""

from tests.browser.conftest import drag_across, live_view, wait_for_app

DECODED_BOX = """root => {
    const box = root.querySelector(".ll-decoded .ll-canvas").getBoundingClientRect();
    return {top: box.top, bottom: box.bottom, height: box.height};
}"""


def test_on_a_phone_the_decoded_digit_stays_in_view_while_a_slider_is_dragged(browser, app_url):
    context = browser.new_context(viewport={"width": 390, "height": 844}, has_touch=True)
    tab = context.new_page()
    tab.set_default_timeout(60_000)
    try:
        tab.goto(app_url + "/sliders?model=ae_32")  # a link: the sidebar is folded on a phone
        tab.get_by_role("heading", name="Bottleneck sliders").wait_for()
        wait_for_app(tab, 60_000)
        view = live_view(tab, "sliders_live")
        slider = view.locator("input[type='range']").nth(9)
        # The page scrolled until that slider is in the lower half of the screen, as a thumb
        # leaves it: far below where the decoded digit is drawn.
        slider.evaluate("input => input.scrollIntoView({block: 'center'})")
        frames = view.evaluate("root => root.frames")
        drag_across(tab, slider, moves=20)
        held = view.evaluate(DECODED_BOX)
        dragged_frames = view.evaluate("root => root.frames")
        tab.mouse.up()
        assert dragged_frames > frames  # the digit was redrawn while the hand moved
        # All of the decoded digit is on screen, below the app's header, above the slider.
        slider_top = slider.bounding_box()["y"]
        assert held["height"] > 100 and 50 <= held["top"] and held["bottom"] <= slider_top, (
            held, slider_top)
    finally:
        context.close()
