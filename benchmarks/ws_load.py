"""A classroom without a browser per student: simulated students speak Streamlit's WebSocket
protocol to a real `streamlit run` server, as the browser does.

    PYTHONPATH=. .venv/bin/python benchmarks/ws_load.py --students 30 --seconds 60
    PYTHONPATH=. .venv/bin/python benchmarks/ws_load.py --pages          # server CPU per page
    PYTHONPATH=. .venv/bin/python benchmarks/ws_load.py --cross-check    # against 5 Chromiums

A student (`Student`) does what Streamlit's frontend does, with Streamlit's own protobufs:
1. GETs the page's HTML and the scripts and styles it names (what a fresh tab asks the server
   for; content-hashed bundles a browser then keeps, so once per student);
2. opens `/_stcore/stream` (subprotocol "streamlit"), sends a `BackMsg.rerun_script` whose
   `ClientState` holds the query string, the page (`page_name` from the URL on the first run,
   `page_script_hash` from the `navigation` message afterwards, as a click in the sidebar does),
   the widget states it has set and the hashes of the cacheable messages it already holds
   (`cached_message_hashes`: the server then sends a `ref_hash` instead of the message);
3. reads `ForwardMsg`s until `script_finished` (a widget inside an `st.fragment` reruns only the
   fragment: its `rerun_script` carries the fragment's id, taken from the element's delta);
4. GETs every `/media/...` URL the run's images name.

On the sliders page a student then "releases" the browser decoder's sliders: the view component
(components v2) tells Python the final code as its JSON state, which reruns the code panel's
fragment; timed from the message sent to `script_finished` (release -> Python).

The server's CPU is read from /proc/<pid>/stat, its memory from /proc/<pid>/status. Every figure
is printed beside the same measurement of `benchmarks/trivial_app.py` in the same run.
Bounded: at most MAX_STUDENTS students and MAX_SECONDS of load, on loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.cookiejar import CookieJar
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))

import websockets  # noqa: E402
from streamlit.proto.BackMsg_pb2 import BackMsg  # noqa: E402
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg  # noqa: E402

from benchmarks.load_test import cpu_seconds, rss_mb  # noqa: E402
from tests.browser.server import start_replicas, start_streamlit, stop  # noqa: E402

MAX_STUDENTS = 100
MAX_SECONDS = 900
RUN_TIMEOUT = 180.0  # one run (page or fragment) to script_finished, under a class's load
PAGES = ["", "train", "sliders", "interpolate", "draw", "samples", "ae_vs_vae", "few_labels",
         "latent_map", "denoise", "anomaly", "bottleneck"]
ASSET = re.compile(r'(?:src|href)="\./(static/(?:js|css)/[^"]+)"')


# The students' HTTP requests run in threads: asyncio's default pool has cpu_count + 4 of them,
# and with 60 students each fetching a dozen bundles at once the queue was the students', not
# the server's (the trivial app's p50 page open went from 0.26 s with 30 students to 8 s).
FETCHERS = ThreadPoolExecutor(max_workers=128, thread_name_prefix="student-http")


def fetch(opener: urllib.request.OpenerDirector, url: str) -> int:
    """GET `url` as a browser does (gzip accepted); the number of bytes received."""
    request = urllib.request.Request(url, headers={"Accept-Encoding": "gzip"})
    with opener.open(request, timeout=RUN_TIMEOUT) as response:
        return len(response.read())


@dataclass
class Run:
    """What one script run sent: its elements' widgets and media, and how long it took."""

    seconds: float = 0.0
    status: int = -1  # ForwardMsg.script_finished
    widgets: dict[str, str] = field(default_factory=dict)  # user key -> widget id
    fragments: dict[str, str] = field(default_factory=dict)  # widget id -> fragment id
    media: list[str] = field(default_factory=list)
    exceptions: list[str] = field(default_factory=list)
    messages: int = 0
    decoder: bytes = b""  # the browser decoder's carrier: [header length][header][ONNX]
    first_picture: float = float("nan")  # seconds to the first picture (an image, or the
    # sliders' placeholder: the server's decode the browser shows until its decoder is ready)


def user_key(widget_id: str) -> str:
    """`$$ID-<hash>-<key>` -> `<key>` (the key the page gave the widget)."""
    return widget_id.split("-", 2)[2] if widget_id.startswith("$$ID-") else widget_id


class Student:
    """One simulated browser tab: a cookie jar, a WebSocket, the state the frontend keeps."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.jar = CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        self.socket = None
        self.pages: dict[str, str] = {}  # url path -> page_script_hash
        self.cached: set[str] = set()  # hashes of cacheable messages held
        self.widget_states: dict[str, object] = {}  # widget id -> WidgetState
        self.assets_fetched = False
        self.decoder_fetched = False  # the browser decoder's scripts and runtime (once a tab)

    async def get(self, path: str) -> int:
        return await asyncio.get_running_loop().run_in_executor(
            FETCHERS, fetch, self.opener, self.base_url + path)

    async def connect(self) -> None:
        html = urllib.request.Request(self.base_url + "/", headers={"Accept-Encoding": "gzip"})
        body = await asyncio.get_running_loop().run_in_executor(
            FETCHERS, lambda: self.opener.open(html, timeout=RUN_TIMEOUT).read())
        if not self.assets_fetched:  # a fresh tab: every bundle the page names, in parallel
            assets = sorted(set(ASSET.findall(body.decode(errors="replace"))))
            await asyncio.gather(*(self.get("/" + asset) for asset in assets))
            self.assets_fetched = True
        await self.get("/_stcore/health")
        await self.get("/_stcore/host-config")
        cookies = "; ".join(f"{c.name}={c.value}" for c in self.jar)
        ws_url = self.base_url.replace("http://", "ws://", 1) + "/_stcore/stream"
        self.socket = await websockets.connect(
            ws_url, subprotocols=["streamlit"], max_size=None, open_timeout=RUN_TIMEOUT,
            additional_headers={"Cookie": cookies} if cookies else None)

    async def close(self) -> None:
        if self.socket is not None:
            await self.socket.close()
            self.socket = None

    async def rerun(self, page: str | None = None, fragment_id: str = "",
                    query_string: str = "") -> Run:
        """Send one rerun_script and read until script_finished; fetch the media it names."""
        message = BackMsg()
        state = message.rerun_script
        state.query_string = query_string
        if page is not None:
            if page in self.pages:
                state.page_script_hash = self.pages[page]
            state.page_name = page
        state.fragment_id = fragment_id
        state.widget_states.widgets.extend(self.widget_states.values())
        state.cached_message_hashes.extend(sorted(self.cached))
        run = Run()
        started = self.started = time.perf_counter()
        await self.socket.send(message.SerializeToString())
        while True:
            data = await asyncio.wait_for(self.socket.recv(), RUN_TIMEOUT)
            forward = ForwardMsg()
            forward.ParseFromString(data)
            run.messages += 1
            kind = forward.WhichOneof("type")
            if forward.metadata.cacheable and forward.hash:
                self.cached.add(forward.hash)
            if kind == "navigation":
                self.pages = {p.url_pathname: p.page_script_hash
                              for p in forward.navigation.app_pages}
            elif kind == "delta" and forward.delta.WhichOneof("type") == "new_element":
                self._element(forward.delta, run)
            elif kind == "script_finished":
                if forward.script_finished in (ForwardMsg.FINISHED_EARLY_FOR_RERUN,):
                    continue  # a rerun the page asked for itself (st.rerun) follows
                run.status = forward.script_finished
                break
        fetches = [self.get(url) for url in sorted(set(run.media))]
        if run.decoder:
            fetches.append(self.fetch_decoder(run.decoder))
        if fetches:
            await asyncio.gather(*fetches)
        run.seconds = time.perf_counter() - started
        return run

    def _element(self, delta, run: Run) -> None:
        element = delta.new_element
        kind = element.WhichOneof("type")
        if run.first_picture != run.first_picture and (  # not set yet (NaN)
                kind == "imgs" or (kind == "bidi_component"
                                   and '"placeholder"' in element.bidi_component.json)):
            run.first_picture = time.perf_counter() - self.started
        if kind == "bidi_component" and element.bidi_component.bytes and not self.decoder_fetched:
            run.decoder = element.bidi_component.bytes  # the browser decoder's carrier
        if kind == "imgs":
            run.media += [image.url for image in element.imgs.imgs if image.url.startswith("/")]
        elif kind == "exception":
            run.exceptions.append(element.exception.message[:200])
        inner = getattr(element, kind) if kind else None
        widget_id = getattr(inner, "id", "") if inner is not None else ""
        if widget_id:
            run.widgets[user_key(widget_id)] = widget_id
            run.fragments[widget_id] = delta.fragment_id

    async def fetch_decoder(self, carrier: bytes) -> None:
        """What static/latent_lab/decoder.mjs fetches when a carrier arrives: its modules and
        onnxruntime-web's, and the WebAssembly binary (the stored .gz, else the plain file)."""
        self.decoder_fetched = True
        length = int.from_bytes(carrier[:4], "little")
        header = json.loads(carrier[4:4 + length])
        script = header["script"]
        runtime = header["runtime"]
        await asyncio.gather(
            self.get(script), self.get(script.rsplit("/", 1)[0] + "/dom.mjs"),
            self.get(runtime + "ort.wasm.bundle.min.mjs"),
            self.get(runtime + "ort-wasm-simd-threaded.mjs"))
        try:
            await self.get(runtime + "ort-wasm-simd-threaded.wasm.gz")
        except urllib.error.HTTPError:
            await self.get(runtime + "ort-wasm-simd-threaded.wasm")

    def set_json(self, widget_id: str, value: dict) -> None:
        """A components-v2 element's state, as its JavaScript's setStateValue sends it."""
        from streamlit.proto.WidgetStates_pb2 import WidgetState

        self.widget_states[widget_id] = WidgetState(id=widget_id, json_value=json.dumps(value))

    async def open_page(self, page: str) -> Run:
        """A fresh tab at /<page>: HTML, bundles, the WebSocket, the first run, its media."""
        started = time.perf_counter()
        await self.connect()
        run = await self.rerun(page=page)
        run.first_picture += self.started - started  # from the tab's first request
        run.seconds = time.perf_counter() - started
        return run


@dataclass
class Tally:
    opens: list[float] = field(default_factory=list)
    releases: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


async def release(student: Student, run: Run, rng: random.Random) -> float | None:
    """Move the sliders page's browser sliders and let go: Python hears the code once."""
    view = run.widgets.get("sliders_live")
    if view is None:
        return None
    code = [round(rng.uniform(-2, 2), 3) for _ in range(32)]
    student.set_json(view, {"code": code})
    again = await student.rerun(page="sliders", fragment_id=run.fragments.get(view, ""))
    if again.exceptions:
        raise RuntimeError(again.exceptions[0])
    return again.seconds


async def slider_student(url: str, page: str, deadline: float, delay: float, tally: Tally,
                         seed: int) -> None:
    """Arrive after `delay`, open `page`, then on the sliders page release every 1-3 s."""
    rng = random.Random(seed)
    await asyncio.sleep(delay)
    student = Student(url)
    try:
        run = await student.open_page(page)
        if run.exceptions:
            tally.errors.append(f"student {seed}: {run.exceptions[0]}")
        tally.opens.append(run.seconds)
        while page == "sliders" and time.monotonic() < deadline:
            await asyncio.sleep(rng.uniform(1.0, 3.0))  # a person looks at the digit
            seconds = await release(student, run, rng)
            if seconds is None:
                break
            tally.releases.append(seconds)
    except Exception as error:  # a timeout is an error of the server under load
        tally.errors.append(f"student {seed}: {type(error).__name__}: {str(error)[:150]}")
    finally:
        await student.close()


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else float("nan")


class Server:
    """`streamlit run` of one script (or `scripts/serve`'s replicas), its pids' CPU and RSS."""

    def __init__(self, script: str, replicas: int = 1) -> None:
        self.script, self.replicas = script, replicas
        self.process: subprocess.Popen | None = None
        self.url = ""

    def __enter__(self) -> Server:
        if self.replicas == 1:
            self.process, self.url = start_streamlit(self.script)
        else:
            self.process, self.url = start_replicas(self.script, self.replicas)
        return self

    def __exit__(self, *exc) -> None:
        if self.process is not None:
            stop(self.process)

    def pids(self) -> list[int]:
        """The Streamlit processes (the balancer's CPU is small and not Python's)."""
        if self.replicas == 1:
            return [self.process.pid]
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        found = [int(pid) for pid in children.read_text().split()]
        return [pid for pid in found if b"streamlit" in Path(f"/proc/{pid}/cmdline").read_bytes()]

    def cpu(self) -> float:
        return sum(cpu_seconds(pid) for pid in self.pids())

    def rss(self) -> float:
        return sum(rss_mb(pid) for pid in self.pids())

    def pss(self) -> float:
        """What the processes hold together: RSS counts a shared library's pages once per
        process (torch's alone are about 500 MB), PSS splits them among the processes."""
        return sum(pss_mb(pid) for pid in self.pids())


async def cpu_per_page(server: Server, page: str, visitors: int) -> tuple[float, float]:
    """Server CPU-seconds and wall seconds per page open, for `visitors` fresh tabs in turn
    (caches warm: a first visitor opens it before the count)."""
    warm = Student(server.url)
    await warm.open_page(page)
    await warm.close()
    await asyncio.sleep(0.5)
    cpu, walls = server.cpu(), []
    for _ in range(visitors):
        student = Student(server.url)
        run = await student.open_page(page)
        walls.append(run.seconds)
        if run.exceptions:
            print(f"    exception on /{page}: {run.exceptions[0]}")
        await student.close()
    await asyncio.sleep(0.3)  # the server's last writes after script_finished
    return (server.cpu() - cpu) / visitors, statistics.median(walls)


async def first_visits() -> None:
    """A fresh server; each page's first visit in turn (the first pays the imports too)."""
    with Server("app.py") as app:
        print(f"{'page':<14}{'first visit s':>14}{'first picture s':>16}{'CPU-s':>8}")
        for page in PAGES:
            cpu = app.cpu()
            student = Student(app.url)
            run = await student.open_page(page)
            await student.close()
            print(f"{page or 'home':<14}{run.seconds:>14.2f}{run.first_picture:>16.2f}"
                  f"{app.cpu() - cpu:>8.2f}" + (f"  {run.exceptions[0]}" if run.exceptions
                                                else ""))
    print(f"load average {os.getloadavg()[0]:.2f}, {os.cpu_count()} cores")


async def pages_report(visitors: int) -> None:
    """Every page's warm open against the trivial app's, in the same run."""
    with Server("benchmarks/trivial_app.py") as trivial, Server("app.py") as app:
        base_before, _ = await cpu_per_page(trivial, "", visitors)
        print(f"{'page':<14}{'CPU-s/open':>11}{'wall s':>8}{'x trivial':>10}")
        for page in PAGES:
            cpu, wall = await cpu_per_page(app, page, visitors)
            print(f"{page or 'home':<14}{cpu:>11.3f}{wall:>8.2f}{cpu / base_before:>10.1f}")
        base_after, _ = await cpu_per_page(trivial, "", visitors)
        print(f"{'trivial app':<14}{base_before:>11.3f} (before) {base_after:.3f} (after)")
        print(f"load average {os.getloadavg()[0]:.2f}, {os.cpu_count()} cores")


async def cross_check(visitors: int, page: str) -> None:
    """Server CPU per open of `page` by `visitors` real Chromium tabs and by as many students."""
    from playwright.async_api import async_playwright

    from tests.browser.server import CHROMIUM, CHROMIUM_ARGS

    with Server("app.py") as app:
        warm = Student(app.url)
        await warm.open_page(page)
        await warm.close()
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=CHROMIUM,
                                                       args=CHROMIUM_ARGS)
            for round_ in range(2):  # alternate, so a busy neighbour weighs on both
                cpu = app.cpu()
                for _ in range(visitors):
                    context = await browser.new_context()
                    tab = await context.new_page()
                    await tab.goto(f"{app.url}/{page}", timeout=RUN_TIMEOUT * 1000)
                    await tab.locator("[data-testid='stStatusWidget']").wait_for(
                        state="detached", timeout=RUN_TIMEOUT * 1000)
                    await tab.wait_for_load_state("networkidle")
                    await context.close()
                await asyncio.sleep(0.5)
                chromium = (app.cpu() - cpu) / visitors
                cpu = app.cpu()
                for _ in range(visitors):
                    student = Student(app.url)
                    await student.open_page(page)
                    await student.close()
                await asyncio.sleep(0.5)
                generated = (app.cpu() - cpu) / visitors
                print(f"round {round_ + 1}: /{page} server CPU per open: Chromium "
                      f"{chromium:.3f} s, generator {generated:.3f} s "
                      f"({(generated / chromium - 1) * 100:+.0f} %)")
            await browser.close()
    print(f"load average {os.getloadavg()[0]:.2f}, {os.cpu_count()} cores")


async def class_run(script: str, page: str, students: int, seconds: float, ramp: float,
                    after: float, replicas: int) -> dict:
    """`students` arrive over `ramp` s, open `page`, release sliders until `seconds` pass."""
    with Server(script, replicas) as server:
        # "Before": the page opened once in every process (as many tabs at once as processes:
        # the balancer sends each to the least busy), closed and dropped.
        warm = [Student(server.url) for _ in range(replicas)]
        await asyncio.gather(*(student.open_page(page) for student in warm))
        await asyncio.gather(*(student.close() for student in warm))
        await asyncio.sleep(12)
        before, before_pss = server.rss(), server.pss()
        peak, peak_pss = before, before_pss
        cpu, started = server.cpu(), time.monotonic()
        tally = Tally()
        deadline = started + seconds
        tasks = [asyncio.create_task(slider_student(
            server.url, page, deadline, index * ramp / max(1, students), tally, index))
            for index in range(students)]
        while not all(task.done() for task in tasks):
            peak, peak_pss = max(peak, server.rss()), max(peak_pss, server.pss())
            await asyncio.sleep(0.5)
        elapsed = time.monotonic() - started
        used = server.cpu() - cpu
        await asyncio.sleep(after)
        return {"opens": tally.opens, "releases": tally.releases, "errors": tally.errors,
                "cpu": used, "elapsed": elapsed, "before": before, "peak": peak,
                "after": server.rss(), "pss": (before_pss, peak_pss, server.pss())}


def pss_mb(pid: int) -> float:
    """Proportional set size of a process, in MB (Linux's smaps_rollup)."""
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def print_class(label: str, result: dict, students: int) -> None:
    opens, releases = result["opens"], result["releases"]
    print(f"{label}: {len(opens)} of {students} opened, page open p50 "
          f"{percentile(opens, 0.5):.2f} s p95 {percentile(opens, 0.95):.2f} s; "
          f"{len(releases)} releases, p50 {percentile(releases, 0.5) * 1000:.0f} ms p95 "
          f"{percentile(releases, 0.95) * 1000:.0f} ms; server {result['cpu']:.1f} CPU-s over "
          f"{result['elapsed']:.0f} s ({result['cpu'] / max(1, len(opens) + len(releases)):.3f}"
          f" per page or release); RSS before {result['before']:.0f} MB, peak "
          f"{result['peak']:.0f} MB, after {result['after']:.0f} MB (PSS, shared pages split: "
          f"{' / '.join(f'{mb:.0f}' for mb in result['pss'])} MB); errors "
          f"{len(result['errors'])}")
    for error in result["errors"][:5]:
        print(f"    {error}")


async def classes(args: argparse.Namespace) -> None:
    trivial = await class_run("benchmarks/trivial_app.py", "", args.students, args.seconds,
                              args.ramp, 5, 1)
    print_class(f"trivial app, {args.students} students, 1 process", trivial, args.students)
    for replicas in args.replicas:
        result = await class_run("app.py", args.page, args.students, args.seconds, args.ramp,
                                 args.after, replicas)
        print_class(f"Latent Lab /{args.page}, {args.students} students, {replicas} "
                    f"process{'es' if replicas > 1 else ''}", result, args.students)
    print(f"load average {' / '.join(f'{x:.2f}' for x in os.getloadavg())}, "
          f"{os.cpu_count()} cores")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--students", type=int, default=30)
    parser.add_argument("--seconds", type=float, default=60, help="how long the class lasts")
    parser.add_argument("--ramp", type=float, default=10,
                        help="seconds over which the students arrive (0: all at once)")
    parser.add_argument("--after", type=float, default=60,
                        help="seconds after the students left before the last RSS reading")
    parser.add_argument("--page", default="sliders", choices=PAGES)
    parser.add_argument("--replicas", type=int, nargs="+", default=[1],
                        help="Streamlit processes behind the balancer, one class run each")
    parser.add_argument("--pages", action="store_true",
                        help="server CPU per warm page open, every page, beside the trivial app")
    parser.add_argument("--visitors", type=int, default=3, help="fresh tabs per page (--pages)")
    parser.add_argument("--first-visits", action="store_true",
                        help="a fresh server: every page's first visit and first picture")
    parser.add_argument("--cross-check", action="store_true",
                        help="CPU per open: 5 real Chromium tabs against 5 students")
    args = parser.parse_args()
    if not 1 <= args.students <= MAX_STUDENTS or not 1 <= args.seconds <= MAX_SECONDS:
        parser.error(f"--students must be 1..{MAX_STUDENTS}, --seconds 1..{MAX_SECONDS}")
    # Closed sessions are dropped 10 s after they leave (Streamlit's default keeps them 120 s
    # for a reconnect), so "after" is what a room leaves behind, not sessions held for reconnects.
    os.environ["STREAMLIT_SERVER_DISCONNECTED_SESSION_TTL"] = "10"
    os.environ.setdefault("LATENT_LAB_UMAP_WARMUP", "0")  # a start-up cost, measured elsewhere
    os.environ.setdefault("LATENT_LAB_WARM_UP", "0")  # scripts/serve's warm-up: the runs warm
    os.environ.setdefault("MALLOC_ARENA_MAX", "2")  # as scripts/run and scripts/serve start it
    if args.pages:
        asyncio.run(pages_report(args.visitors))
    elif args.first_visits:
        asyncio.run(first_visits())
    elif args.cross_check:
        asyncio.run(cross_check(5, args.page))
    else:
        asyncio.run(classes(args))


if __name__ == "__main__":
    main()
