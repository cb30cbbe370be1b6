"""Open every page once on a freshly started server, so its first visitor finds it warm.

    PYTHONPATH=. .venv/bin/python scripts/warm_up.py http://127.0.0.1:8501

`scripts/run` and `scripts/serve` start this beside the server (LATENT_LAB_WARM_UP=0: not).
One simulated visitor (benchmarks/ws_load.py's Student, Streamlit's own WebSocket protocol)
waits for the health check, then opens each page with the default model: the libraries are
imported, the model loaded and its digits encoded, the browser decoder exported, what
checkpoints/precomputed.json holds read, before a student asks. Prints one line per page.
"""

from __future__ import annotations

import asyncio
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.ws_load import PAGES, Student  # noqa: E402


def wait_for_health(url: str, timeout: float = 300.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=2):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise SystemExit(f"warm-up: {url} did not answer") from None
            time.sleep(0.5)


async def warm(url: str) -> None:
    for page in PAGES:
        student = Student(url)
        started = time.perf_counter()
        try:
            await student.open_page(page)
            print(f"warm-up: /{page} in {time.perf_counter() - started:.1f} s", flush=True)
        except Exception as error:  # a page that fails here fails for its visitor too: say so
            print(f"warm-up: /{page} failed: {type(error).__name__}: {error}", flush=True)
        finally:
            await student.close()


def main() -> None:
    url = sys.argv[1].rstrip("/") if len(sys.argv) > 1 else "http://127.0.0.1:8501"
    wait_for_health(url)
    asyncio.run(warm(url))


if __name__ == "__main__":
    main()
