"""Where each page's server time goes: cProfile of every script run, first visit and warm.

    PYTHONPATH=. .venv/bin/python benchmarks/profile_pages.py               # every page
    PYTHONPATH=. .venv/bin/python benchmarks/profile_pages.py sliders home  # some pages
    PYTHONPATH=. .venv/bin/python benchmarks/profile_pages.py --top 25
    PYTHONPATH=. .venv/bin/python benchmarks/profile_pages.py home --releases 20  # + sliders

Starts `streamlit run app.py` in a child process whose script runs are each profiled (the
profile is switched on in Streamlit's script thread, around `ScriptRunner._run_script`, and
written to one file per run), then opens every page with the WebSocket students of
`ws_load.py`: once on a fresh server (the first visitor) and `--visitors` more times (warm).
Printed per page: the CPU-seconds of the runs and the functions of ae_core/, ui/, app_pages/
with the most cumulative time, first visit and warm apart. The event loop's own work (sending
messages, serving media) is not in these profiles; ws_load.py --pages counts it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import pstats
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))

from benchmarks.ws_load import PAGES, Student, release  # noqa: E402
from tests.browser.server import free_port  # noqa: E402

OURS = ("ae_core/", "ui/", "app_pages/", "app.py")


def serve(folder: str, port: int) -> None:
    """The child: streamlit run app.py with every script run profiled into `folder`."""
    import cProfile

    from streamlit.runtime.scriptrunner import script_runner
    from streamlit.web import cli

    original = script_runner.ScriptRunner._run_script

    def profiled(self, rerun_data):
        profile = cProfile.Profile()
        profile.enable()
        try:
            return original(self, rerun_data)
        finally:
            profile.disable()
            profile.dump_stats(Path(folder) / f"{time.time_ns()}.prof")

    script_runner.ScriptRunner._run_script = profiled
    sys.argv = ["streamlit", "run", "app.py", f"--server.port={port}",
                "--server.address=127.0.0.1", "--server.headless=true"]
    cli.main()


def report(files: list[Path], top: int, label: str) -> None:
    if not files:
        print(f"  {label}: no script run")
        return
    stats = pstats.Stats(*map(str, files))
    total = stats.total_tt
    print(f"  {label}: {len(files)} runs, {total:.3f} s in the script thread")
    rows = []
    for (path, line, name), (_, _, _, cumulative, _) in stats.stats.items():
        relative = path.replace(str(PROJECT_ROOT) + "/", "")
        if relative.startswith(OURS):
            rows.append((cumulative, f"{relative}:{line} {name}"))
    for cumulative, where in sorted(rows, reverse=True)[:top]:
        print(f"    {cumulative:8.3f} s  {where}")


async def releases(url: str, folder: Path, count: int, top: int) -> None:
    """One student on the sliders page lets go of the browser sliders `count` times."""
    student = Student(url)
    run = await student.open_page("sliders")
    await asyncio.sleep(0.5)
    before = set(folder.iterdir())
    rng = random.Random(0)
    for _ in range(count):
        await release(student, run, rng)
    await student.close()
    await asyncio.sleep(0.5)
    report(sorted(set(folder.iterdir()) - before), top, f"{count} slider releases")


async def drive(url: str, folder: Path, pages: list[str], visitors: int, top: int,
                release_count: int) -> None:
    if release_count:
        await releases(url, folder, release_count, top)
    for page in pages:
        print(f"/{page or '(home)'}")
        for label, count in (("first visit", 1), (f"warm, {visitors} visitors", visitors)):
            before = set(folder.iterdir())
            for _ in range(count):
                student = Student(url)
                run = await student.open_page(page)
                await student.close()
                if run.exceptions:
                    print(f"    exception: {run.exceptions[0]}")
            await asyncio.sleep(0.5)  # the last profile file is written after script_finished
            report(sorted(set(folder.iterdir()) - before), top, label)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("pages", nargs="*", default=PAGES)
    parser.add_argument("--visitors", type=int, default=3)
    parser.add_argument("--top", type=int, default=12)
    parser.add_argument("--releases", type=int, default=0,
                        help="also profile this many releases of the sliders page's sliders")
    parser.add_argument("--serve", nargs=2, metavar=("FOLDER", "PORT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve[0], int(args.serve[1]))
        return
    os.environ.setdefault("LATENT_LAB_UMAP_WARMUP", "0")
    with tempfile.TemporaryDirectory() as folder:
        port = free_port()
        child = subprocess.Popen([sys.executable, __file__, "--serve", folder, str(port)],
                                 cwd=PROJECT_ROOT, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.STDOUT)
        try:
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 60
            while True:
                try:
                    with __import__("urllib.request").request.urlopen(url + "/_stcore/health"):
                        break
                except OSError:
                    if time.monotonic() > deadline or child.poll() is not None:
                        raise SystemExit("the profiled server did not start") from None
                    time.sleep(0.2)
            asyncio.run(drive(url, Path(folder), [p if p != "home" else "" for p in args.pages],
                              args.visitors, args.top, args.releases))
        finally:
            child.terminate()
            child.wait(timeout=15)


if __name__ == "__main__":
    main()
