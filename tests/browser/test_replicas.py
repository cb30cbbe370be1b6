"""Two Streamlit processes behind HAProxy (`scripts/serve --replicas 2`): each browser sticks
to one process, and its pictures, uploads and downloads all reach that process."""

from __future__ import annotations

import os
import shutil

import pytest

from tests.browser.conftest import PROJECT_ROOT, go_to, wait_for_app
from tests.browser.server import ServerError, start_replicas, stop

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def balancer_url():
    if shutil.which("haproxy") is None and os.geteuid() != 0:
        message = "haproxy is not installed and cannot be (not root): apt-get install haproxy"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    try:
        server, url = start_replicas("app.py", 2, timeout=300)
    except ServerError as error:
        pytest.fail(str(error))
    try:
        yield url
    finally:
        stop(server)


def test_each_browser_sticks_to_a_process_with_pictures_uploads_and_downloads(
        browser, balancer_url, tmp_path):
    contexts = [browser.new_context(viewport={"width": 1400, "height": 1000},
                                    accept_downloads=True) for _ in range(2)]
    try:
        tabs = [context.new_page() for context in contexts]
        for tab in tabs:  # both open at once: the second goes to the less busy process
            tab.goto(balancer_url)
            wait_for_app(tab, 120_000)
        replicas = {cookie["value"] for context in contexts for cookie in context.cookies()
                    if cookie["name"] == "LL_REPLICA"}
        assert replicas == {"r1", "r2"}, replicas
        for visitor, tab in enumerate(tabs):
            # A picture: a media file, held by the process that drew it.
            image = tab.locator("[data-testid='stImage'] img").first
            image.wait_for(timeout=60_000)
            tab.wait_for_function("img => img.complete && img.naturalWidth > 0",
                                  arg=image.element_handle(), timeout=60_000)
            # An upload: posted to the process that holds the session.
            good = tmp_path / f"visitor{visitor}_vae.safetensors"
            good.write_bytes((PROJECT_ROOT / "checkpoints" / "vae_2.safetensors").read_bytes())
            upload = "[data-testid='stSidebar'] .st-key-sidebar_upload input[type='file']"
            tab.locator(upload).set_input_files(str(good))
            sidebar = tab.locator("[data-testid='stSidebar']")
            sidebar.get_by_text("Variational autoencoder (MLP)").wait_for(timeout=60_000)
            wait_for_app(tab, 60_000)
            assert "latent size 2" in sidebar.inner_text()
            # A download: a media file too.
            go_to(tab, "Samples", "Samples")
            with tab.expect_download(timeout=60_000) as download:
                tab.get_by_role("button", name="Download the grid (PNG)").click()
            assert download.value.path().read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    finally:
        for context in contexts:
            context.close()
