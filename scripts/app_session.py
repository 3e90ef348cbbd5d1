"""Start the dashboard in a subprocess and drive it with the system Chromium.

One copy for the browser tests, ``scripts/screenshot_app.py`` and ``benchmarks/bench_app.py``,
so all three start the app and launch Chromium the same way. ``scripts/`` is a plain folder:
callers outside it put it on ``sys.path`` before importing this module.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Playwright

ROOT = Path(__file__).resolve().parents[1]
# Debian's Chromium via executable_path: never a build downloaded by ``playwright install``.
CHROMIUM = "/usr/bin/chromium"
# No sandbox or GPU in containers; no background traffic or updates to disturb a run.
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
)


class AppDidNotStart(RuntimeError):
    """The app exited, or did not answer ``/healthz`` in time (it has been killed)."""


def free_port() -> int:
    """A loopback port that is free now, so parallel runs do not collide on a fixed one."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_app(
    env: Mapping[str, str] | None = None,
    output: IO | int = subprocess.DEVNULL,
    timeout_s: float = 60,
    request_timeout_s: float = 2,
) -> tuple[subprocess.Popen, str]:
    """Run ``python -m app`` on a free loopback port; return it and its URL once it answers.

    Args:
        env: the server's environment (default: this process's, as it is now).
        output: where the server's stdout and stderr go.
        timeout_s: how long to wait for ``GET /healthz`` to answer 200.
        request_timeout_s: timeout of each ``/healthz`` request.

    Raises:
        AppDidNotStart: the server exited first or did not answer within ``timeout_s``.
    """
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "app", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT,
        env=dict(os.environ if env is None else env),
        stdout=output,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=request_timeout_s) as response:
                if response.status == 200:
                    return proc, url
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise AppDidNotStart(f"the app did not answer {url}/healthz within {timeout_s} s")
        time.sleep(0.1)  # polling the health endpoint, not waiting for a page


def stop_app(proc: subprocess.Popen, timeout_s: float = 10) -> None:
    """Terminate the server; kill it if it has not exited after ``timeout_s``."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def launch_chromium(pw: Playwright, args: Sequence[str] = CHROMIUM_ARGS) -> Browser:
    """Headless system Chromium from an open ``sync_playwright()`` context."""
    return pw.chromium.launch(executable_path=CHROMIUM, args=list(args), headless=True)
