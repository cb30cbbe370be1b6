"""The shipped server configuration (.streamlit/config.toml): what a visitor may reach and see."""

from __future__ import annotations

import tomllib
from pathlib import Path

from ae_core.checkpoint import MAX_CHECKPOINT_BYTES

CONFIG = tomllib.loads((Path(__file__).resolve().parents[1] / ".streamlit" / "config.toml")
                       .read_text())


def test_the_app_listens_on_loopback_unless_told_otherwise():
    assert CONFIG["server"]["address"] == "127.0.0.1"


def test_visitors_get_no_tracebacks_and_no_developer_menu():
    assert CONFIG["client"]["showErrorDetails"] == "none"
    assert CONFIG["client"]["toolbarMode"] == "viewer"


def test_xsrf_and_cors_protection_stay_on():
    assert CONFIG["server"].get("enableXsrfProtection", True) is True
    assert CONFIG["server"].get("enableCORS", True) is True


def test_the_upload_limit_is_the_loaders_limit():
    assert CONFIG["server"]["maxUploadSize"] * 1024 * 1024 == MAX_CHECKPOINT_BYTES


def test_static_serving_is_on_for_the_browser_decoder():
    assert CONFIG["server"]["enableStaticServing"] is True
