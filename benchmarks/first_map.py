"""First latent map and first UMAP on a freshly started app, in a real Chromium.

    .venv/bin/python benchmarks/first_map.py

Prints (and writes to test-artifacts/latent_map_timings.txt) the time to a healthy server,
to the home page, from the "Latent map" link to a visible map, and from asking for a UMAP that
no checkpoint stores to the PCA stand-in and to the UMAP itself.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))

from tests.browser.conftest import ARTIFACTS, wait_for_app  # noqa: E402
from tests.browser.server import CHROMIUM, CHROMIUM_ARGS, start_streamlit, stop  # noqa: E402

CHART = "[data-testid='stPlotlyChart'] .js-plotly-plot"
X_TITLE = f"() => document.querySelector(\"{CHART}\")?._fullLayout?.xaxis?.title?.text || ''"


def measure(browser) -> None:
    """Fresh server: home, then the latent map link, then a UMAP nobody stored."""
    started = time.monotonic()
    server, url = start_streamlit("app.py")
    lines = []
    try:
        lines.append(f"server healthy: {time.monotonic() - started:.1f} s after launch")
        tab = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
        tab.set_default_timeout(600_000)
        opened = time.monotonic()
        tab.goto(url)
        tab.get_by_text("Digits and their reconstructions").wait_for()
        lines.append(f"home page: {time.monotonic() - opened:.1f} s")
        clicked = time.monotonic()
        tab.locator("[data-testid='stSidebarNav']").get_by_text("Latent map", exact=True).click()
        tab.wait_for_selector(f"{CHART} canvas")
        lines.append(f"latent map link -> map visible: {time.monotonic() - clicked:.2f} s "
                     f"({tab.evaluate(X_TITLE)})")
        # A UMAP nobody stored: it is computed in the background while PCA shows.
        wait_for_app(tab)
        tab.get_by_role("group", name="UMAP neighbours").get_by_role("slider").focus()
        tab.keyboard.press("ArrowLeft")
        asked = time.monotonic()
        tab.get_by_role("button", name="Draw map").click()
        tab.wait_for_function(f"() => ({X_TITLE})().startsWith('PC1')")
        lines.append(f"new UMAP parameters -> PCA stand-in: {time.monotonic() - asked:.2f} s")
        tab.wait_for_function(f"() => ({X_TITLE})() === 'UMAP 1'")
        lines.append(f"new UMAP parameters -> UMAP shown: {time.monotonic() - asked:.1f} s "
                     f"({time.monotonic() - started:.0f} s after launch)")
        ARTIFACTS.mkdir(exist_ok=True)
        tab.screenshot(path=str(ARTIFACTS / "measure_umap.png"), full_page=True)
    finally:
        stop(server)
        (ARTIFACTS / "latent_map_timings.txt").write_text("\n".join(lines) + "\n")
        print("\n".join(lines))


def main() -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            measure(browser)
        finally:
            browser.close()


if __name__ == "__main__":
    main()
