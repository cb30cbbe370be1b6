"""The picker, the page and the link name the same model whatever the timing (issue 19).

Each kind of widget's script loads the first time one is drawn; on a slow machine or
connection a click can rerun the app before it has. These tests hold that script back (the
route answers only after the click's run has finished), so the race happens every time, and
check that the widget mounts on the value the session means, and keeps it on the next click.
"""

from __future__ import annotations

import time

import pytest

from tests.browser.conftest import DEFAULT_MODEL, PICKER, wait_for_app, wait_for_picker

pytestmark = pytest.mark.browser

ATTEMPTS = 10
PARAM_IS = "([name, value]) => new URLSearchParams(location.search).get(name) === value"


class HeldBack:
    """Widgets' scripts (route patterns) held until `release`, then loaded as usual."""

    def __init__(self, context, *patterns: str) -> None:
        self.routes, self.holding = [], True
        for pattern in patterns:
            context.route(pattern, self._route)

    def _route(self, route) -> None:
        if self.holding:
            self.routes.append(route)
        else:
            route.continue_()

    def release(self, tab) -> None:
        """Once a held script was asked for (a condition, polled), let them all load."""
        deadline = time.monotonic() + 60
        while not self.routes and time.monotonic() < deadline:
            tab.wait_for_timeout(50)  # lets Playwright hand the route over
        assert self.routes, "no held script was asked for"
        self.holding = False
        for route in self.routes:
            route.continue_()


@pytest.fixture
def fresh(browser):
    """A context of its own per attempt: a new Streamlit session, a cold script cache."""
    contexts = []

    def open_context():
        contexts.append(browser.new_context(viewport={"width": 1400, "height": 1000}))
        return contexts[-1]

    yield open_context
    for context in contexts:
        context.close()


@pytest.mark.parametrize("attempt", range(ATTEMPTS))
def test_a_page_clicked_before_the_picker_mounts_keeps_the_default_model(fresh, app_url,
                                                                       attempt):
    context = fresh()
    held = HeldBack(context, "**/Selectbox.*.js")
    tab = context.new_page()
    tab.set_default_timeout(60_000)
    tab.goto(app_url)
    # At once, before the picker can mount: a second run that the picker's script misses.
    tab.locator("[data-testid='stSidebarNav']").get_by_text("Samples", exact=True).click()
    tab.get_by_role("heading", name="Samples").wait_for()
    wait_for_app(tab, 60_000)
    assert not tab.locator(PICKER).count()  # the race happened: a run without it
    held.release(tab)
    wait_for_picker(tab, DEFAULT_MODEL)
    tab.wait_for_function(PARAM_IS, arg=["model", "ae_32"])
    assert "latent size 32" in tab.locator("[data-testid='stSidebar']").inner_text()
    # The next click reruns with what the picker holds: still ae_32, on the page and the link.
    tab.locator("[data-testid='stSidebarNav']").get_by_text("Bottleneck sliders",
                                                            exact=True).click()
    tab.get_by_role("heading", name="Bottleneck sliders").wait_for()
    wait_for_app(tab, 60_000, widgets=(PICKER,))
    tab.get_by_text("32 code dimensions").wait_for()
    assert tab.locator(PICKER).input_value() == DEFAULT_MODEL
    assert tab.evaluate(PARAM_IS, ["model", "ae_32"])


STEPS_SLIDER = ".st-key-interpolate_steps input[type='range']"
START_INDEX = ".st-key-interpolate_start_index input"


@pytest.mark.parametrize("attempt", range(ATTEMPTS))
def test_widgets_a_link_sets_keep_its_values_when_their_scripts_load_late(fresh, app_url,
                                                                         attempt):
    context = fresh()
    held = HeldBack(context, "**/Slider.*.js", "**/NumberInput.*.js")
    tab = context.new_page()
    tab.set_default_timeout(60_000)
    tab.goto(f"{app_url}/interpolate?model=ae_32&a=12&b=345&steps=5&path=slerp")
    path = tab.locator(".st-key-interpolate_method")
    # At once: another path, a rerun before the steps slider and the index boxes mount.
    path.get_by_text("Linear").click()
    tab.wait_for_function(PARAM_IS, arg=["path", "linear"])
    wait_for_app(tab, 60_000)
    assert not tab.locator(STEPS_SLIDER).count()  # the race happened
    held.release(tab)
    wait_for_app(tab, 60_000, widgets=(STEPS_SLIDER, START_INDEX, PICKER))
    assert tab.locator(STEPS_SLIDER).input_value() == "5"
    assert tab.locator(START_INDEX).input_value() == "12"
    assert tab.locator(PICKER).input_value() == DEFAULT_MODEL
    # The next click reruns with what the widgets hold: the link's values still.
    path.get_by_text("Spherical (slerp)").click()
    tab.wait_for_function(PARAM_IS, arg=["path", "slerp"])
    wait_for_app(tab, 60_000)
    assert tab.evaluate(PARAM_IS, ["steps", "5"]) and tab.evaluate(PARAM_IS, ["a", "12"])
    assert tab.locator(STEPS_SLIDER).input_value() == "5"
