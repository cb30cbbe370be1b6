"""Slider latency in a real Chromium: Latent Lab's bottleneck slider against a trivial app.

    .venv/bin/python benchmarks/slider_latency.py [--presses 15]

For each app: a fresh `streamlit run`, the page opened, then one arrow-key press on the first
slider at a time, timing press -> new image shown. Prints the medians and their ratio (target:
about 1.5 x the trivial app).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))

from tests.browser.server import CHROMIUM, CHROMIUM_ARGS, start_streamlit, stop  # noqa: E402

IMAGE = "[data-testid='stImage']:has-text('Decoded from the sliders') img"
IMAGE_CHANGED = """before => [...document.querySelectorAll("[data-testid='stImage']")]
    .find(element => element.innerText.includes("Decoded from the sliders"))
    ?.querySelector("img")?.src !== before"""


def press_times(browser, url: str, presses: int) -> list[float]:
    tab = browser.new_page(viewport={"width": 1400, "height": 1000})
    tab.goto(url)
    tab.locator(IMAGE).wait_for(timeout=60_000)
    time.sleep(2)  # let the first run settle
    thumb = tab.get_by_role("slider").first
    thumb.focus()
    seconds = []
    for index in range(presses):
        before = tab.locator(IMAGE).get_attribute("src")
        started = time.perf_counter()
        thumb.press("ArrowRight" if index % 2 == 0 else "ArrowLeft")
        tab.wait_for_function(IMAGE_CHANGED, arg=before, timeout=15_000)
        seconds.append(time.perf_counter() - started)
        time.sleep(0.3)
    tab.close()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--presses", type=int, default=15)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    results = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for name, script, path in (("trivial app", "benchmarks/trivial_app.py", "/"),
                                   ("Latent Lab sliders (ae_32)", "app.py", "/sliders")):
            server, url = start_streamlit(script)
            try:
                results[name] = press_times(browser, url + path, args.presses)
            finally:
                stop(server)
        browser.close()
    for name, seconds in results.items():
        print(f"{name:28s} median {statistics.median(seconds) * 1000:6.0f} ms   "
              f"min {min(seconds) * 1000:5.0f} ms   max {max(seconds) * 1000:5.0f} ms")
    trivial, ours = (statistics.median(s) for s in results.values())
    print(f"ratio (target about 1.5x): {ours / trivial:.2f}x")


if __name__ == "__main__":
    main()
