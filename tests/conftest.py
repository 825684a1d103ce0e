"""Shared fixtures: the Streamlit server (one per session) and the Playwright browser.

The browser tests skip with a clear reason when Debian's Chromium or the playwright package is
missing, unless E2E_REQUIRED=1 or CI=true (then a missing browser fails). Screenshots and
downloads land in test-artifacts/ (or $E2E_ARTIFACTS).
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
APP_PATH = ROOT / "dashboard" / "app.py"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
    "--no-first-run", "--disable-background-networking", "--disable-component-update",
    "--disable-sync",
]


def _browser_required() -> bool:
    return os.environ.get("E2E_REQUIRED") == "1" or os.environ.get("CI", "").lower() == "true"


def _missing(msg: str) -> None:
    if _browser_required():
        pytest.fail(f"{msg} (required: E2E_REQUIRED=1 or CI=true)")
    pytest.skip(msg)


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    path = Path(os.environ.get("E2E_ARTIFACTS", ROOT / "test-artifacts"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_healthy(url: str, proc: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited early with code {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as resp:
                if resp.status == 200 and resp.read().strip() == b"ok":
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"streamlit not healthy at {url} after {timeout}s")


def _stop(proc: subprocess.Popen) -> None:
    """By PID only: SIGTERM, then SIGKILL if it lingers."""
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)


@pytest.fixture(scope="session")
def streamlit_server(tmp_path_factory):
    """`streamlit run dashboard/app.py` on a free loopback port; yields its base URL."""
    port = int(os.environ.get("E2E_PORT") or _free_port())  # a fixed port on shared machines
    url = f"http://127.0.0.1:{port}"
    log_path = tmp_path_factory.mktemp("streamlit") / "server.log"
    cmd = [sys.executable, "-m", "streamlit", "run", str(APP_PATH),
           "--server.headless", "true", "--server.address", "127.0.0.1",
           "--server.port", str(port), "--browser.gatherUsageStats", "false",
           "--server.fileWatcherType", "none", "--server.runOnSave", "false"]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        _wait_healthy(url, proc, timeout=float(os.environ.get("STREAMLIT_START_TIMEOUT", 90)))
        yield url
    except BaseException:
        print(f"--- streamlit log ({log_path}) ---\n{log_path.read_text(errors='replace')}")
        raise
    finally:
        _stop(proc)
        print(f"--- streamlit log tail ---\n{log_path.read_text(errors='replace')[-3000:]}")


@pytest.fixture(scope="session")
def pw_browser():
    if not (os.path.exists(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        _missing(f"{CHROMIUM} not found (apt-get install -y chromium fonts-liberation)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("the playwright package is not installed (pip install playwright==1.65.2)")
    from playwright.sync_api import expect

    expect.set_options(timeout=30_000)  # 5 s default is too short on 2 busy cores
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(pw_browser, streamlit_server):
    """A fresh browser context (own Streamlit session) per test, on the first page."""
    from tests.e2e.helpers import wait_for_app_idle

    context = pw_browser.new_context(viewport={"width": 1400, "height": 1100},
                                     accept_downloads=True)
    context.set_default_timeout(60_000)
    pg = context.new_page()
    pg.goto(streamlit_server)
    wait_for_app_idle(pg)
    yield pg
    context.close()
