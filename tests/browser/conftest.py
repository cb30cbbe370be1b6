"""A real `streamlit run app.py` and a real Chromium driven by Playwright.

Under CI=true a missing browser fails these tests; elsewhere they skip with the reason.
"""

from __future__ import annotations

import os
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


def wait_for_app(tab, timeout_ms: int = 30_000) -> None:
    """Until the script has finished running (Streamlit shows no 'running' status)."""
    tab.wait_for_selector("[data-testid='stApp']", timeout=timeout_ms)
    tab.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')",
        timeout=timeout_ms)
