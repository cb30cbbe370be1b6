"""Starting `streamlit run` on a free loopback port and Chromium's flags for this machine.

Shared by the browser tests' fixtures and the benchmarks that time the app in a browser.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import IO

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-quic",
                 "--no-first-run"]


class ServerError(RuntimeError):
    """The server exited or did not answer its health check in time; holds its log's tail."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_streamlit(script: str = "app.py", log: IO | int = subprocess.DEVNULL,
                    timeout: float = 60.0) -> tuple[subprocess.Popen, str]:
    """Run `script` headless and wait for /_stcore/health; returns (process, base URL).

    The caller stops the process (`stop`). On failure the process is stopped here.
    """
    port = free_port()
    command = [sys.executable, "-m", "streamlit", "run", script, "--server.headless=true",
               f"--server.port={port}", "--server.address=127.0.0.1",
               "--browser.gatherUsageStats=false", "--server.fileWatcherType=none"]
    server = subprocess.Popen(command, cwd=PROJECT_ROOT, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return server, url
        except OSError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            stop(server)
            raise ServerError(f"streamlit run {script} did not start")
        time.sleep(0.05)


def start_replicas(script: str, replicas: int, timeout: float = 120.0
                   ) -> tuple[subprocess.Popen, str]:
    """`bash scripts/serve --replicas N` on free loopback ports; (its process, the balancer's
    URL) once a page comes back through the balancer."""
    port = free_port()
    while any(not port_free(port + index) for index in range(1, replicas + 1)):
        port = free_port()
    process = subprocess.Popen(["bash", "scripts/serve", "--replicas", str(replicas),
                                "--port", str(port), "--script", script, "--",
                                "--browser.gatherUsageStats=false"],
                               cwd=PROJECT_ROOT, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL,
                               # no page-by-page warm-up: a test or a benchmark warms what it needs
                               env={**os.environ, "LATENT_LAB_WARM_UP": "0"})
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=2):
                return process, url
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                stop(process)
                raise ServerError("scripts/serve did not start") from None
            time.sleep(0.3)


def port_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def stop(server: subprocess.Popen) -> None:
    server.terminate()
    try:
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.kill()
