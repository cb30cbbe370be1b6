"""What the page tests share: opening a page under AppTest and reading what it drew."""

from __future__ import annotations

import base64
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from ui import projections, state

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
SHIPPED = ROOT / "checkpoints"


def needs_shipped(*names: str) -> pytest.MarkDecorator:
    """Skip unless these shipped checkpoints are in checkpoints/ (a trimmed checkout)."""
    return pytest.mark.skipif(
        not all((SHIPPED / f"{name}.safetensors").is_file() for name in names),
        reason=f"needs the shipped {', '.join(names)}")


def open_page(page: str, folder: Path, monkeypatch, model: str | None = None,
              in_browser: bool = False) -> AppTest:
    """The app on `page` with `folder` as its checkpoints (and `model` active, if given).

    AppTest runs no JavaScript, so the sliders decode on the server unless `in_browser`.
    No UMAP warm-up: a compile thread importing beside the script only slows these tests.
    """
    monkeypatch.setenv("LATENT_LAB_CHECKPOINTS", str(folder))
    monkeypatch.setattr(state, "CHECKPOINT_DIR", folder)
    monkeypatch.setenv(projections.WARM_UP_ENV, "0")
    at = AppTest.from_file(APP, default_timeout=240)
    at.session_state["sliders_in_browser"] = in_browser
    if model is not None:
        at.session_state[state.ACTIVE_MODEL] = f"shipped: {model}"
    at.run()
    at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def sidebar_page(at: AppTest) -> None:
    """Back to the entry page, where app.py draws the sidebar."""
    at.switch_page("app_pages/home.py").run()
    assert not at.exception, at.exception


def first_urls(at: AppTest) -> list[str]:
    """Each st.image's first URL in page order; AppTest names media by a hash of their bytes."""
    return [image.value[0] for image in at.get("image")]


def all_urls(at: AppTest) -> list[str]:
    """Every image URL in page order, the images of a gallery one by one."""
    return [url for image in at.get("image") for url in image.value]


def numbers(values) -> list[float]:
    """A plotly trace's numbers: plotly sends long arrays as base64 typed arrays."""
    if isinstance(values, dict):
        return np.frombuffer(base64.b64decode(values["bdata"]), values["dtype"]).tolist()
    return list(values)
