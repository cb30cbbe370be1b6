"""What a server's first visitors would otherwise wait for, the same for every one of them,
done once per server in a background thread after the first page is drawn.

The first ONNX export of a process takes 1.2 s on a quiet machine (3-6 s on a busy one) of
the exporter's imports and first trace, against 0.24 s for the next: the sliders page's first
visit paid it. (That visit also spent 4.7 of its 5.5 s importing scikit-learn and SciPy for
the attribute directions' ridge fit, which ae_core.attributes now solves with NumPy.) UMAP's
compile has its own warm-up (ui/projections.py).
"""

from __future__ import annotations

import threading

import streamlit as st

from ae_core.export import warm_up_export
from ui.memory import freeze_long_lived


def _warm_up() -> None:
    try:
        warm_up_export()
    except Exception:  # noqa: BLE001 - a failed warm-up only means a first visit pays
        return
    freeze_long_lived()  # what these imported joins the imports' objects (ui/memory.py)


@st.cache_resource(show_spinner=False)
def warm_up_first_visits() -> threading.Thread:
    """Start the warm-up once per server (app.py calls it after every run's page)."""
    thread = threading.Thread(target=_warm_up, daemon=True, name="latent-lab-first-visits")
    thread.start()
    return thread
