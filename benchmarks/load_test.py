"""A classroom on one server: N Chromium sessions step sliders and open the latent map while
two more sessions train, against one `streamlit run app.py` on loopback.

    PYTHONPATH=. .venv/bin/python benchmarks/load_test.py --sessions 10 --seconds 60

Each slider session opens the sliders page, switches "Decode in the browser" off (the server
path: every key step is a rerun of the slider fragment) and, until the time is up, presses an
arrow key on the first slider and times press -> new image, with a pause between presses; every
`--map-every` presses it opens the latent map from the sidebar and comes back. The two training
sessions press Train again and again (the server trains LATENT_LAB_TRAINERS at a time; the
other waits in the queue). Printed: slider p50/p95, errors (timeouts, exceptions shown on a
page), and the server's resident memory before the sessions (warmed by one session that opened
the sliders and the map, closed and dropped), during (peak), right after they closed and
`--after` seconds later (past server.disconnectedSessionTTL, when Streamlit drops closed
sessions; the command sets it to `--session-ttl`, 10 s, so the reading comes sooner).

Bounded: at most MAX_SESSIONS sessions and MAX_SECONDS of load; the server listens on
127.0.0.1 only and the browsers open nothing else.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))

from tests.browser.server import CHROMIUM, CHROMIUM_ARGS, start_streamlit, stop  # noqa: E402

MAX_SESSIONS = 40
MAX_SECONDS = 600
IMAGE = "[data-testid='stImage']:has-text('Decoded from the sliders') img"
IMAGE_CHANGED = """before => [...document.querySelectorAll("[data-testid='stImage']")]
    .find(element => element.innerText.includes("Decoded from the sliders"))
    ?.querySelector("img")?.src !== before"""
TOGGLE = ".st-key-sliders_in_browser input"
EXCEPTION = "[data-testid='stException']"
NAV = "[data-testid='stSidebarNav']"
# Opening a page downloads Streamlit's JavaScript and renders it: with tens of tabs on the same
# 2 cores as the server that alone took over 30 s (Playwright's default) in every tab.
PAGE_OPEN_TIMEOUT_MS = 120_000


def rss_mb(pid: int) -> float:
    """Resident memory of a process, in MB, from /proc (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used, from /proc/<pid>/stat (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class MemoryWatch:
    """Samples the server's RSS every `every` seconds in a thread; the peak since `reset`."""

    def __init__(self, pid: int, every: float = 0.5) -> None:
        self.pid, self.every, self.peak = pid, every, 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            try:
                self.peak = max(self.peak, rss_mb(self.pid))
            except OSError:
                return

    def reset(self) -> None:
        self.peak = rss_mb(self.pid)

    def close(self) -> None:
        self._stop.set()


@dataclass
class Tally:
    loads: list[float] = field(default_factory=list)  # page opened -> first image drawn
    presses: list[float] = field(default_factory=list)
    maps: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    trained: int = 0
    queued: int = 0  # training sessions that saw "Waiting for a free trainer"


async def server_path(tab) -> None:
    """Make sure "Decode in the browser" is off, then wait for the server-drawn image."""
    await tab.locator(TOGGLE).wait_for(state="attached", timeout=60_000)
    if await tab.locator(TOGGLE).is_checked():
        await tab.get_by_text("Decode in the browser").click()
    await tab.locator(IMAGE).wait_for(timeout=60_000)
    await asyncio.sleep(1.0)  # the first run settles


async def slider_session(browser, url: str, deadline: float, map_every: int,
                         tally: Tally, seed: int, delay: float = 0.0) -> None:
    rng = random.Random(seed)
    await asyncio.sleep(delay)  # students arrive one after another, not in the same instant
    context = await browser.new_context(viewport={"width": 1400, "height": 1000})
    tab = await context.new_page()
    try:
        started = time.perf_counter()
        await tab.goto(url + "/sliders", timeout=PAGE_OPEN_TIMEOUT_MS)
        await server_path(tab)
        tally.loads.append(time.perf_counter() - started - 1.0)  # less server_path's settling
        count = 0
        while time.monotonic() < deadline:
            thumb = tab.get_by_role("slider").first
            await thumb.focus()
            before = await tab.locator(IMAGE).get_attribute("src")
            started = time.perf_counter()
            await thumb.press("ArrowRight" if count % 2 == 0 else "ArrowLeft")
            await tab.wait_for_function(IMAGE_CHANGED, arg=before, timeout=30_000)
            tally.presses.append(time.perf_counter() - started)
            count += 1
            await asyncio.sleep(rng.uniform(0.5, 1.5))  # a person looks at the digit
            if map_every and count % map_every == 0 and time.monotonic() < deadline:
                started = time.perf_counter()
                await tab.locator(NAV).get_by_text("Latent map", exact=True).click()
                await tab.locator("[data-testid='stPlotlyChart']").first.wait_for(
                    timeout=60_000)
                tally.maps.append(time.perf_counter() - started)
                await tab.locator(NAV).get_by_text("Bottleneck sliders", exact=True).click()
                await server_path(tab)
        if await tab.locator(EXCEPTION).count():
            tally.errors.append("an exception shown on the sliders page")
    except Exception as error:  # a timeout is an error of the server under load
        tally.errors.append(f"slider session {seed}: {type(error).__name__}: "
                            f"{str(error).splitlines()[0][:120]}")
    finally:
        await context.close()


async def training_session(browser, url: str, deadline: float, tally: Tally,
                           index: int) -> None:
    context = await browser.new_context(viewport={"width": 1400, "height": 1000})
    tab = await context.new_page()
    queued = False
    try:
        await tab.goto(url + "/train", timeout=PAGE_OPEN_TIMEOUT_MS)
        await tab.locator(".st-key-train_start button").wait_for(timeout=60_000)
        await asyncio.sleep(index * 2.0)  # the second asks while the first trains
        while time.monotonic() < deadline:
            await tab.locator(".st-key-train_start button").click()
            done = tab.get_by_text("is this session's active model")
            waiting = tab.get_by_text("Waiting for a free trainer")
            await tab.locator(".st-key-train_stop, .st-key-train_cancel").first.wait_for(
                timeout=60_000)
            while True:  # until this run finished (a finished run's page shows no Stop)
                if not queued and await waiting.count():
                    queued = True
                if (await done.count() and not await tab.locator(".st-key-train_stop").count()
                        and not await waiting.count()):
                    break
                if time.monotonic() > deadline + 300:
                    raise TimeoutError("a training run did not finish")
                await asyncio.sleep(0.5)
            tally.trained += 1
            if await tab.locator(EXCEPTION).count():
                tally.errors.append("an exception shown on the train page")
    except Exception as error:
        tally.errors.append(f"training session {index}: {type(error).__name__}: "
                            f"{str(error).splitlines()[0][:120]}")
    finally:
        tally.queued += queued
        await context.close()


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else float("nan")


async def run(args: argparse.Namespace) -> None:
    from playwright.async_api import async_playwright

    server, url = start_streamlit("app.py")
    assert url.startswith("http://127.0.0.1:"), url  # loopback only
    watch = MemoryWatch(server.pid)
    try:
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=CHROMIUM,
                                                       args=CHROMIUM_ARGS)
            # "Before": the server warmed by one session that opened the sliders and the map
            # (libraries imported, shipped model loaded and encoded), then closed and dropped.
            warm = Tally()
            await slider_session(browser, url, time.monotonic() + 1, 1, warm, -1)
            await asyncio.sleep(args.session_ttl + 5)
            before = rss_mb(server.pid)
            watch.reset()
            tally = Tally()
            tally.errors += warm.errors
            deadline = time.monotonic() + args.seconds
            sessions = [slider_session(browser, url, deadline, args.map_every, tally, index,
                                       delay=index * args.ramp / max(1, args.sessions))
                        for index in range(args.sessions)]
            sessions += [training_session(browser, url, deadline, tally, index)
                         for index in range(args.trainers)]
            started, cpu = time.monotonic(), cpu_seconds(server.pid)
            await asyncio.gather(*sessions)
            elapsed = time.monotonic() - started
            cores = (cpu_seconds(server.pid) - cpu) / elapsed
            during = watch.peak
            closed = rss_mb(server.pid)
            await browser.close()
        await asyncio.sleep(args.after)
        after = rss_mb(server.pid)
    finally:
        watch.close()
        stop(server)

    load = os.getloadavg()
    presses = tally.presses
    print(f"{args.sessions} slider sessions (arriving over {args.ramp:.0f} s) + "
          f"{args.trainers} training sessions, {args.seconds:.0f} s of load "
          f"({elapsed:.0f} s until every session closed), "
          f"{os.cpu_count()} cores, load average {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f}")
    print(f"  sliders page opened -> first image (server path): {len(tally.loads)} of "
          f"{args.sessions} sessions, p50 {percentile(tally.loads, 0.5):.1f} s, "
          f"p95 {percentile(tally.loads, 0.95):.1f} s")
    print(f"  slider press -> new image: {len(presses)} presses, "
          f"p50 {percentile(presses, 0.5) * 1000:.0f} ms, "
          f"p95 {percentile(presses, 0.95) * 1000:.0f} ms"
          + (f", mean {statistics.mean(presses) * 1000:.0f} ms" if presses else ""))
    if tally.maps:
        print(f"  latent map opened: {len(tally.maps)} times, "
              f"p50 {percentile(tally.maps, 0.5):.2f} s, p95 {percentile(tally.maps, 0.95):.2f} s")
    print(f"  training runs finished: {tally.trained}; sessions that waited in the queue: "
          f"{tally.queued} of {args.trainers}")
    print(f"  the server used {cores:.2f} cores on average meanwhile (the rest: the browsers "
          f"and the machine's other work)")
    print(f"  errors: {len(tally.errors)}")
    for error in tally.errors[:10]:
        print(f"    {error}")
    print(f"  server memory (RSS): before {before:.0f} MB, during (peak) {during:.0f} MB, "
          f"when closed {closed:.0f} MB, {args.after:.0f} s after {after:.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sessions", type=int, default=10, help="slider sessions")
    parser.add_argument("--trainers", type=int, default=2, help="training sessions")
    parser.add_argument("--seconds", type=float, default=60, help="how long the load lasts")
    parser.add_argument("--ramp", type=float, default=0,
                        help="seconds over which the slider sessions arrive, evenly spaced "
                             "(0: all at once)")
    parser.add_argument("--map-every", type=int, default=8,
                        help="open the latent map after this many presses (0: never)")
    parser.add_argument("--after", type=float, default=30,
                        help="seconds to wait after the sessions closed before the last "
                             "memory reading")
    parser.add_argument("--session-ttl", type=int, default=10,
                        help="server.disconnectedSessionTTL: how long Streamlit keeps a "
                             "closed session for a reconnect (its default is 120 s)")
    args = parser.parse_args()
    if not 0 <= args.sessions <= MAX_SESSIONS or not 0 <= args.trainers <= 4:
        parser.error(f"--sessions must be 0..{MAX_SESSIONS}, --trainers 0..4")
    if not 1 <= args.seconds <= MAX_SECONDS or not 0 <= args.after <= MAX_SECONDS:
        parser.error(f"--seconds must be 1..{MAX_SECONDS}, --after 0..{MAX_SECONDS}")
    if not 0 <= args.ramp < args.seconds:
        parser.error("--ramp must be 0 or more and shorter than --seconds")
    # The UMAP warm-up compiles numba for ~40 s after a start (benchmarks/first_map.py): a
    # start-up cost, not the classroom's; the map shows PCA at once either way.
    os.environ.setdefault("LATENT_LAB_UMAP_WARMUP", "0")
    os.environ["STREAMLIT_SERVER_DISCONNECTED_SESSION_TTL"] = str(args.session_ttl)
    os.environ.setdefault("STREAMLIT_SERVER_ADDRESS", "127.0.0.1")
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
