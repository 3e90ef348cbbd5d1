"""The Dockerfile's CMD run on this host: pages, /healthz, production mode, browsers per worker."""

from __future__ import annotations

import contextlib
import json
import re
import signal
import subprocess
import time
from pathlib import Path

import psutil
import pytest
import requests
from dash_http import DashSession
from services import Service, base_env, dockerfile_healthcheck, free_port

import stabgraph_core
from app import ids

pytestmark = pytest.mark.slow


def _workers(service: Service) -> list[psutil.Process]:
    return psutil.Process(service.process.pid).children()


def _browsers(worker: psutil.Process) -> list[psutil.Process]:
    return [p for p in worker.children(recursive=True) if "chrom" in p.name().lower()]


def _browsers_of_every_worker(service: Service, timeout: float = 30.0) -> list[psutil.Process]:
    """Chromium processes under each worker, once every worker has one.

    kaleido launches Chromium from a background thread, so it may appear a moment after the
    worker starts serving.
    """
    deadline = time.monotonic() + timeout
    while True:
        found = [_browsers(w) for w in _workers(service)]
        if found and all(found):
            return [p for group in found for p in group]
        if time.monotonic() > deadline:
            raise AssertionError(f"workers without Chromium after {timeout}s: {found}")
        time.sleep(0.2)


def test_healthz_answers_with_version_root_and_exporter(embedded_app: Service) -> None:
    answer = requests.get(embedded_app.url + "/healthz", timeout=5)
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("application/json")
    body = answer.json()
    assert body == {
        "status": "ok",
        "version": stabgraph_core.__version__,
        "results_root_readable": True,
        "exporter_ready": True,
    }


def test_the_page_loads_in_production_mode(embedded_app: Service) -> None:
    session = DashSession(embedded_app.url)
    try:
        html = session.load_page()
    finally:
        session.close()
    assert "<title>stabgraph</title>" in html
    config = json.loads(
        re.search(r'<script id="_dash-config" type="application/json">(.*?)</script>', html).group(
            1
        )
    )
    assert config["ui"] is False, "Dash dev tools must be off"
    assert session.callbacks, "the callbacks are registered"
    assert "hot_reload" not in config and config["props_check"] is False
    assert requests.get(embedded_app.url + "/_reload-hash", timeout=5).json()["reloadHash"] is None
    assert "Werkzeug Debugger" not in requests.get(embedded_app.url + "/nope", timeout=5).text


def test_two_workers_each_with_its_own_export_browser(embedded_app: Service) -> None:
    assert len(_workers(embedded_app)) == 2
    assert _browsers_of_every_worker(embedded_app)
    master = psutil.Process(embedded_app.process.pid)
    assert not [p for p in master.children() if "chrom" in p.name().lower()], (
        "the master must not start a browser"
    )


def test_a_results_folder_is_parsed_once_for_all_workers(embedded_app: Service) -> None:
    """Figures of one folder from many requests (both workers): one cache entry, written once."""
    log_start = len(embedded_app.log.read_text(errors="replace"))
    session = DashSession(embedded_app.url)
    try:
        session.load_page()
        spec = session.find(f"{ids.GRAPH}.figure")
        values = session.resolve(spec, session.initial_values())
        values[f"{ids.SOURCE_STORE}.data"] = {"kind": "folder", "folder": "demo"}
        entries = Path(embedded_app.env["STABGRAPH_CACHE_DIR"]) / "runs"
        written = None
        served_by: set[str] = set()
        # The kernel decides which worker accepts a connection; keep opening new ones until
        # both have answered (bounded), checking each time that nobody parsed again.
        for _ in range(60):
            session.http.close()
            result = session.call(spec, values, changed=[f"{ids.SOURCE_STORE}.data"])
            names = {trace.get("name") for trace in result.props[ids.GRAPH]["figure"]["data"]}
            assert any("8k" in str(n) for n in names) and any("32k" in str(n) for n in names)
            (entry,) = entries.glob("*.npz")
            written = written or entry.stat().st_ino  # a new parse would replace the file
            assert entry.stat().st_ino == written, "a worker parsed the folder again"
            log = embedded_app.log.read_text(errors="replace")[log_start:]
            served_by = set(re.findall(r"<(\d+)> \"POST /_dash-update-component", log))
            if len(served_by) == 2:
                break
    finally:
        session.close()
    assert len(served_by) == 2, "both workers answered"


def test_the_image_healthcheck_command_passes_and_fails(embedded_app: Service) -> None:
    probe = dockerfile_healthcheck()
    port = embedded_app.url.rsplit(":", 1)[1]
    ok = subprocess.run(probe, env=base_env(PORT=port), capture_output=True, timeout=10)
    assert ok.returncode == 0, ok.stderr
    down = subprocess.run(probe, env=base_env(PORT=str(free_port())), capture_output=True,
                          timeout=10)  # fmt: skip
    assert down.returncode != 0


def test_stopping_gunicorn_stops_every_browser(
    tmp_path_factory: pytest.TempPathFactory, results_root
) -> None:
    """SIGTERM to the master alone (what ``docker stop`` sends): no Chromium outlives it."""
    from services import start_gunicorn

    work = tmp_path_factory.mktemp("stop")
    env = base_env(STABGRAPH_RESULTS_ROOT=str(results_root),
                   STABGRAPH_CACHE_DIR=str(work / "cache"), WEB_CONCURRENCY="2")  # fmt: skip
    service = start_gunicorn(env, work / "logs")
    browsers: list[psutil.Process] = []
    try:
        browsers = _browsers_of_every_worker(service)
        service.process.send_signal(signal.SIGTERM)
        assert service.process.wait(40) == 0
        _gone, alive = psutil.wait_procs(browsers, timeout=10)
        assert not alive, f"Chromium left running: {[p.pid for p in alive]}"
    finally:
        service.stop()
        for browser in browsers:  # whatever a failure left behind
            with contextlib.suppress(psutil.NoSuchProcess):
                browser.kill()
