"""A room's memory goes back once its sessions have gone (ui/memory.py), on a real
`streamlit run app.py` visited by the simulated students of benchmarks/ws_load.py."""

from __future__ import annotations

import asyncio
import gc
import random
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from benchmarks.load_test import MemoryWatch, rss_mb
from benchmarks.ws_load import Student, release
from tests.browser.server import start_streamlit, stop
from ui import memory

STUDENTS = 12
PAGES = ("denoise", "anomaly", "latent_map", "interpolate")


async def visit(url: str, students: int) -> None:
    """`students` open the sliders, release them twice, and leave."""

    async def one(seed: int) -> None:
        student = Student(url)
        run = await student.open_page("sliders")
        assert not run.exceptions, run.exceptions
        for _ in range(2):
            assert await release(student, run, random.Random(seed)) is not None
        for page in PAGES:  # and on through the pages, in the same session
            assert not (await student.rerun(page=page)).exceptions
        await student.close()

    await asyncio.gather(*(one(seed) for seed in range(students)))


def visit_apart(url: str, students: int) -> None:
    """`visit` on its own event loop in its own thread: in one pytest process the browser
    tests' synchronous Playwright leaves an event loop running in this thread, where
    asyncio.run refuses to start."""
    with ThreadPoolExecutor(1) as thread:
        thread.submit(asyncio.run, visit(url, students)).result()


def settle(pid: int, seconds: float) -> float:
    """The server's RSS once it has stopped falling (or after `seconds`)."""
    deadline, last = time.monotonic() + seconds, rss_mb(pid)
    while time.monotonic() < deadline:
        time.sleep(memory.CHECK_SECONDS + 1)
        now = rss_mb(pid)
        if abs(now - last) < 2:
            return now
        last = now
    return last


def test_after_the_freeze_a_collection_walks_only_what_came_later():
    import plotly.graph_objects  # noqa: F401  (what the pages import: a large heap)
    import torch  # noqa: F401

    memory.freeze_long_lived()
    walked = len(gc.get_objects())  # the permanent generation is not among them
    assert gc.get_freeze_count() > 100_000
    assert walked < gc.get_freeze_count() / 10
    later = [[n] for n in range(1000)]  # objects made afterwards are still collected
    assert len(gc.get_objects()) >= walked + 1000
    del later


def test_trim_returns_true_on_glibc():
    assert memory.trim()


@pytest.mark.slow
def test_the_memory_a_class_used_goes_back_after_it_leaves(monkeypatch):
    monkeypatch.setenv("STREAMLIT_SERVER_DISCONNECTED_SESSION_TTL", "2")
    monkeypatch.setenv("MALLOC_ARENA_MAX", "2")  # as scripts/run starts the server
    monkeypatch.setenv("LATENT_LAB_UMAP_WARMUP", "0")
    server, url = start_streamlit("app.py", timeout=120)
    try:
        visit_apart(url, 1)  # imports, the model, its codes: the server's own memory
        before = settle(server.pid, 60)
        watch = MemoryWatch(server.pid, every=0.2)
        watch.reset()
        visit_apart(url, STUDENTS)
        during = watch.peak
        watch.close()
        deadline = time.monotonic() + 90  # sessions dropped after 2 s, a trim within 5 s more
        while rss_mb(server.pid) > before * 1.10 and time.monotonic() < deadline:
            time.sleep(1)
        after = rss_mb(server.pid)
    finally:
        stop(server)
    assert during > before + 30, (before, during)  # the class did use memory
    assert after <= before * 1.10, (before, during, after)
