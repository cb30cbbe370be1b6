"""The digit following the hand, in a real Chromium: the browser decoder against the server path
and a trivial Streamlit app, measured in the same run.

    .venv/bin/python benchmarks/slider_latency.py [--presses 15] [--models ae_32 conv_ae_32 vqvae]

1. Key press -> new image: `benchmarks/trivial_app.py` (one slider, one image: the least
   Streamlit can do) against Latent Lab's sliders page with "Decode in the browser" off (the
   server path, which keyboard steps and the fallback use). Target: within 1.5x the trivial app.
2. Per shipped model, on the browser path:
   - component ready after the page opens (sidebar click -> first digit drawn): the server's
     first time with the model (it encodes the 5,000 digits once), then cold (a new browser
     profile: the 14 MB WebAssembly runtime fetched and compiled) and warm (the page opened
     again in the same profile), both on the warmed server;
   - a 2-second drag across the first slider, one pointer move per 16 ms: decodes drawn per
     second, and pointer move -> pixels written to the canvas, p50 and p95;
   - release -> Python: from letting go to the page's own count of moved dimensions.
"""

from __future__ import annotations

import argparse
import os
import re
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
READY = ".st-key-sliders_live .ll-decoder[data-engine='onnx']"
DRAG_SECONDS = 2.0
MOVE_SECONDS = 0.016  # a pointer reports about 60 moves a second


def wait_idle(tab) -> None:
    tab.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')",
                          timeout=60_000)


def press_times(tab, presses: int) -> list[float]:
    """Arrow-key presses on the first slider, each timed to the new image."""
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
    return seconds


def choose_model(tab, name: str) -> None:
    tab.locator("[data-testid='stSidebar'] [data-testid='stSelectbox']").click()
    tab.get_by_role("option", name=f"shipped: {name}", exact=True).click()
    wait_idle(tab)


def open_sliders(tab) -> float:
    """Click the sidebar link; seconds until the browser decoder has drawn its first digit."""
    started = time.perf_counter()
    tab.locator("[data-testid='stSidebarNav']").get_by_text("Bottleneck sliders",
                                                            exact=True).click()
    tab.wait_for_function(f"() => document.querySelector(\"{READY}\")?.frames > 0",
                          timeout=60_000)
    return time.perf_counter() - started


def drag(tab) -> dict:
    """A 2-second drag across the first slider; what the browser drew meanwhile."""
    view = tab.locator(READY)
    track = view.locator("input[type='range']").first
    track.scroll_into_view_if_needed()
    box = track.bounding_box()
    y = box["y"] + box["height"] / 2
    view.evaluate("root => { root.latencies.length = 0; }")
    moves = int(DRAG_SECONDS / MOVE_SECONDS)
    tab.mouse.move(box["x"] + 2, y)
    tab.mouse.down()
    frames = view.evaluate("root => root.frames")
    started = time.perf_counter()
    for step in range(1, moves + 1):
        # back and forth across the track, so every move changes the code
        fraction = abs((2 * step / moves) % 2 - 1) if step > moves // 2 else step / (moves // 2)
        tab.mouse.move(box["x"] + 2 + fraction * (box["width"] - 4), y)
        time.sleep(max(0.0, started + step * MOVE_SECONDS - time.perf_counter()))
    elapsed = time.perf_counter() - started
    drawn = view.evaluate("root => root.frames") - frames
    latencies = view.evaluate("root => root.latencies.slice()")
    latent_dim = len(view.evaluate("root => root.lastCode"))
    released = time.perf_counter()
    tab.mouse.up()
    tab.get_by_text(re.compile(rf"^1 of {latent_dim} dimensions moved")).wait_for(timeout=30_000)
    return {"fps": drawn / elapsed, "moves": moves / elapsed, "latencies": latencies,
            "release": time.perf_counter() - released}


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--presses", type=int, default=15)
    parser.add_argument("--models", nargs="+", default=["ae_32", "conv_ae_32", "vqvae"])
    args = parser.parse_args()
    # The UMAP warm-up compiles numba for ~40 s after a start and slows every rerun meanwhile:
    # a start-up cost (benchmarks/first_map.py), not what a step costs once the app is up.
    os.environ.setdefault("LATENT_LAB_UMAP_WARMUP", "0")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        server, url = start_streamlit("benchmarks/trivial_app.py")
        try:
            tab = browser.new_page(viewport={"width": 1400, "height": 1000})
            tab.goto(url)
            trivial = press_times(tab, args.presses)
            tab.close()
        finally:
            stop(server)
        server, url = start_streamlit("app.py")
        try:
            tab = browser.new_page(viewport={"width": 1400, "height": 1000})
            tab.goto(url + "/sliders")
            tab.get_by_text("Decode in the browser").click()  # the server path
            server_path = press_times(tab, args.presses)
            tab.close()
            rows = []
            for name in args.models:
                # First the server's own first time for this model (encoding the 5,000 digits,
                # the page's summaries), in a profile thrown away: that is not the browser's.
                context = browser.new_context(viewport={"width": 1400, "height": 1000})
                tab = context.new_page()
                tab.goto(url)
                wait_idle(tab)
                choose_model(tab, name)
                server_first = open_sliders(tab)
                context.close()
                context = browser.new_context(viewport={"width": 1400, "height": 1000})
                tab = context.new_page()  # a new profile: nothing cached, nothing compiled
                tab.goto(url)
                wait_idle(tab)
                choose_model(tab, name)
                cold = open_sliders(tab)
                tab.locator("[data-testid='stSidebarNav']").get_by_text("Home", exact=True).click()
                wait_idle(tab)
                warm = open_sliders(tab)
                wait_idle(tab)
                rows.append((name, server_first, cold, warm, drag(tab)))
                context.close()
        finally:
            stop(server)
        browser.close()

    print("Key press -> new image (server path), medians of "
          f"{args.presses} presses:")
    print(f"  trivial app          {statistics.median(trivial) * 1000:6.0f} ms "
          f"(min {min(trivial) * 1000:.0f}, max {max(trivial) * 1000:.0f})")
    print(f"  Latent Lab sliders   {statistics.median(server_path) * 1000:6.0f} ms "
          f"(min {min(server_path) * 1000:.0f}, max {max(server_path) * 1000:.0f})")
    print(f"  ratio (target <= 1.5x): "
          f"{statistics.median(server_path) / statistics.median(trivial):.2f}x")
    print("Browser decoder, per model:")
    print("  model       server's 1st  ready cold  ready warm  drag: decodes/s (moves/s)  "
          "move->pixels p50 / p95   release->Python")
    for name, server_first, cold, warm, result in rows:
        latencies = result["latencies"]
        print(f"  {name:11s} {server_first:9.2f} s {cold:9.2f} s {warm:9.2f} s  "
              f"{result['fps']:8.1f} "
              f"({result['moves']:.0f})           {percentile(latencies, 0.5):5.1f} / "
              f"{percentile(latencies, 0.95):5.1f} ms      {result['release'] * 1000:6.0f} ms")


if __name__ == "__main__":
    main()
