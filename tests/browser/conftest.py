"""A real `streamlit run app.py` and a real Chromium driven by Playwright.

Under CI=true a missing browser fails these tests; elsewhere they skip with the reason.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from tests.browser.server import (
    CHROMIUM,
    CHROMIUM_ARGS,
    PROJECT_ROOT,
    ServerError,
    start_streamlit,
    stop,
)

ARTIFACTS = PROJECT_ROOT / "test-artifacts"


def _need_browser() -> None:
    if not Path(CHROMIUM).exists():
        message = "Chromium not found at /usr/bin/chromium (apt-get install chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail(message + ": browser tests must run in CI")
        pytest.skip(message)


@pytest.fixture(scope="session")
def app_url(tmp_path_factory: pytest.TempPathFactory):
    """Start the app once per test session on a free loopback port; stop it afterwards."""
    _need_browser()
    log_path = tmp_path_factory.mktemp("server") / "streamlit.log"
    # What the browser tests save from the Train page stays out of the project's saved_models/.
    os.environ["LATENT_LAB_SAVED"] = str(tmp_path_factory.mktemp("saved_models"))
    with open(log_path, "w") as log:
        try:
            server, url = start_streamlit("app.py", log)
        except ServerError as error:
            pytest.fail(f"{error}:\n{log_path.read_text()[-3000:]}")
    try:
        yield url
    finally:
        stop(server)


@pytest.fixture(scope="session")
def browser():
    _need_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, app_url, request):
    """A fresh browser tab (its own Streamlit session); a screenshot is kept per test."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    tab = context.new_page()
    tab.set_default_timeout(30_000)
    yield tab
    ARTIFACTS.mkdir(exist_ok=True)
    tab.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()


PICKER = "[data-testid='stSidebar'] [data-testid='stSelectbox'] input"
DEFAULT_MODEL = "shipped: ae_32"  # ui.state.DEFAULT_CHECKPOINT, as the picker shows it


def wait_for_app(tab, timeout_ms: int = 30_000, widgets: tuple[str, ...] = ()) -> None:
    """Until the script has finished running and every CSS selector in `widgets` is on the
    page: the app's own run state (set the moment a rerun is asked for) says not running, and
    no 'running' status is shown. The status widget alone is not enough: it appears a moment
    after a run starts, so early on it looks like idle. A finished run does not mean its
    widgets are there: each kind of widget's script loads when first needed, and on a slow
    machine or connection it mounts seconds later, so a test names the widgets it uses."""
    tab.wait_for_function(
        """widgets => document.querySelector("[data-testid='stApp']")
                     ?.getAttribute("data-test-script-state") === "notRunning"
                 && !document.querySelector("[data-testid='stStatusWidget']")
                 && widgets.every(selector => document.querySelector(selector))""",
        arg=list(widgets), timeout=timeout_ms)


def wait_for_picker(tab, label: str = DEFAULT_MODEL, timeout_ms: int = 60_000) -> None:
    """Until the sidebar's model picker has mounted and shows `label`."""
    tab.wait_for_function(f"label => document.querySelector({PICKER!r})?.value === label",
                          arg=label, timeout=timeout_ms)


IMAGE_CHANGED = """([caption, before]) => {
    const image = [...document.querySelectorAll("[data-testid='stImage']")]
        .find(element => element.innerText.includes(caption))?.querySelector("img");
    return image !== undefined && image !== null && image.src !== before;
}"""


def open_page(tab, app_url: str, link: str, title: str) -> None:
    """The app from its front door, then a page through the sidebar, as a visitor gets there."""
    tab.goto(app_url)
    wait_for_app(tab, 60_000)
    go_to(tab, link, title)


def go_to(tab, link: str, title: str) -> None:
    """Another page through the sidebar, in the same session (a reload would start anew)."""
    tab.locator("[data-testid='stSidebarNav']").get_by_text(link, exact=True).click()
    tab.get_by_role("heading", name=title).wait_for(timeout=60_000)
    wait_for_app(tab, 60_000)


def sidebar_model(tab) -> str:
    """The model the sidebar's picker shows."""
    return tab.locator(PICKER).input_value()


def choose_model(tab, label: str) -> None:
    """Pick a model in the sidebar, as a visitor does."""
    tab.locator("[data-testid='stSidebar'] [data-testid='stSelectbox']").click()
    tab.get_by_role("option", name=label, exact=True).click()
    wait_for_picker(tab, label)
    wait_for_app(tab, 60_000)


def open_with_model(tab, app_url: str, model: str, link: str, title: str) -> None:
    """The front door, a model picked in the sidebar, then a page in the same session."""
    tab.goto(app_url)
    wait_for_app(tab, 60_000)
    choose_model(tab, model)
    go_to(tab, link, title)


def live_view(tab, key: str, timeout_ms: int = 60_000):
    """The browser decoder's view mounted with `key`, once its decoder runs (onnx)."""
    view = tab.locator(f".st-key-{key} .ll-decoder[data-engine='onnx']")
    view.wait_for(timeout=timeout_ms)
    return view


def drag_across(tab, track, moves: int = 40, pause: float = 0.02) -> None:
    """Press on the left end of `track`, move to the right end in `moves` steps, hold there."""
    track.scroll_into_view_if_needed()
    box = track.bounding_box()
    y = box["y"] + box["height"] / 2
    tab.mouse.move(box["x"] + 2, y)
    tab.mouse.down()
    for step in range(1, moves + 1):
        tab.mouse.move(box["x"] + 2 + step * (box["width"] - 4) / moves, y)
        time.sleep(pause)  # a hand's pace: the page gets animation frames between moves
