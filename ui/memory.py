"""Memory a room leaves behind goes back to the system once its sessions have gone.

Python frees a closed session's objects (its state, its session-model results), but glibc
keeps the freed pages in its arenas (one per thread that allocated, and Streamlit runs every
session's script in a thread of its own), so the server's RSS stays at its peak. A daemon
thread, one per server, watches the number of sessions and, when it has dropped, collects
cycles and calls glibc's `malloc_trim(0)`, which returns free pages at the top of every arena
to the kernel. `scripts/run` also sets MALLOC_ARENA_MAX=2 (fewer arenas to fragment).

Streamlit collects garbage after every script run (`runner.postScriptGC`), and a full
collection walks every object the process holds: after torch, plotly, scikit-learn and the
app's modules are imported that is 430,000 objects and 0.2 s of CPU, paid by every page open
and every slider release (half a release's cost; benchmarks/profile_pages.py --releases).
`freeze_long_lived` moves what exists once the imports are done into the collector's permanent
generation (`gc.freeze`), which collections skip: a collection then takes microseconds, and
what sessions create and drop is still collected as before.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import threading

import streamlit as st

CHECK_SECONDS = 5.0  # how often the session count is read


def trim() -> bool:
    """Collect cycles and give free heap pages back to the system; False where glibc's
    malloc_trim is not available (another libc, another system)."""
    gc.collect()
    try:
        ctypes.CDLL(ctypes.util.find_library("c")).malloc_trim(0)
    except (OSError, AttributeError, TypeError):
        return False
    return True


def freeze_long_lived() -> None:
    """Collect, then exempt every object alive now from later collections (`gc.freeze`).
    Called once the modules are imported (the end of the first run, the end of the start-up
    and UMAP warm-ups): what a later import creates is frozen by the next call. What a session
    holds at that moment is frozen too and, if it ends as a reference cycle, never collected:
    three calls per server, so a bounded amount."""
    gc.collect()
    gc.freeze()


@st.cache_resource(show_spinner=False)
def freeze_after_first_run() -> bool:
    """`freeze_long_lived` once per server, at the end of its first script run."""
    freeze_long_lived()
    return True


def session_count() -> int:
    from streamlit.runtime import Runtime

    try:  # Streamlit's session manager: no public count of the sessions it holds
        return len(Runtime.instance()._session_mgr.list_sessions())
    except (AttributeError, RuntimeError):  # no runtime (bare mode) or AppTest's stand-in
        return 0


def _watch(stop: threading.Event) -> None:
    seen = session_count()
    while not stop.wait(CHECK_SECONDS):
        now = session_count()
        if now < seen:  # sessions have gone (closed tabs, after the disconnected TTL)
            trim()
        seen = now


@st.cache_resource(show_spinner=False)
def start_trimmer() -> threading.Event:
    """Start the watcher once per server; set the returned event to stop it."""
    stop = threading.Event()
    threading.Thread(target=_watch, args=(stop,), name="latent-lab-malloc-trim",
                     daemon=True).start()
    return stop
