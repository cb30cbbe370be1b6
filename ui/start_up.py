"""What a server's first visitors would otherwise wait for, the same for every one of them,
done once per server in a background thread after the first page is drawn.

Profiled on a fresh server (benchmarks/profile_pages.py home sliders), the first visit of the
sliders page spent 4.7 of its 5.5 s importing scikit-learn and SciPy's solvers for the
attribute directions' fit (0.1 s once imported), and the first ONNX export of a process takes
3-6 s of the exporter's imports and first trace (0.24 s for the next). UMAP's compile has its
own warm-up (ui/projections.py).
"""

from __future__ import annotations

import threading

import streamlit as st

from ae_core.attributes import warm_up_directions
from ae_core.export import warm_up_export
from ui.memory import freeze_long_lived


def _warm_up() -> None:
    for step in (warm_up_directions, warm_up_export):
        try:
            step()
        except Exception:  # noqa: BLE001 - a failed warm-up only means a first visit pays
            continue
    freeze_long_lived()  # what these imported joins the imports' objects (ui/memory.py)


@st.cache_resource(show_spinner=False)
def warm_up_first_visits() -> threading.Thread:
    """Start the warm-up once per server (app.py calls it after every run's page)."""
    thread = threading.Thread(target=_warm_up, daemon=True, name="latent-lab-first-visits")
    thread.start()
    return thread
