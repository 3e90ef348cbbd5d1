"""A fresh deployment serves its very first visitors: no blank page right after a start.

Dash learns which component bundles it may serve on the first request a process gets; a
bundle request arriving on another thread meanwhile was refused with a 500 ("dash_ag_grid
is not a registered library"). Here the server is started afresh several times with its
own config (the Dockerfile's gunicorn command, 2 workers) and, before anything else has
touched it, a first visit's page, bundles and assets are all fetched at once.
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from services import ROOT, Service, base_env, dockerfile_instruction, free_port, start

pytestmark = pytest.mark.slow

STARTS = 4
START_TIMEOUT_S = 60.0


def first_visit_paths() -> list[str]:
    """What a browser's first visit fetches: the page, what it links, what its scripts load.

    Taken from the app in this process, so it names exactly the bundles of this install.
    """
    from app import app as dash_app
    from app import server

    html = server.test_client().get("/").get_data(as_text=True)
    paths = ["/", "/_dash-layout", "/_dash-dependencies"]
    paths += re.findall(r'<script src="(/[^"]+)"', html)
    paths += re.findall(r'<link [^>]*href="(/[^"]+)"', html)
    # loaded by the scripts once they run: the graph, dropdown and slider chunks, plotly.js,
    # AG Grid's community chunk (and the rest of the lazily loaded chunks with them)
    for namespace, rels in dash_app.registered_paths.items():
        paths += [
            f"/_dash-component-suites/{namespace}/{rel}"
            for rel in sorted(rels)
            if rel.endswith(".js") and ("async-" in rel or rel.endswith("plotly.min.js"))
        ]
    return paths


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _fresh_start(tmp: Path, results: Path) -> tuple[Service, str]:
    """The Dockerfile's CMD on a free port, returned as soon as its socket listens: before
    any request (not even /healthz) has reached a worker."""
    port = free_port()
    env = base_env(STABGRAPH_RESULTS_ROOT=str(results), STABGRAPH_CACHE_DIR=str(tmp / "cache"),
                   HOST="127.0.0.1", PORT=str(port))  # fmt: skip
    service = start("gunicorn", dockerfile_instruction("CMD"), env=env, log_dir=tmp / "logs")
    deadline = time.monotonic() + START_TIMEOUT_S
    while not _listening(port):
        if not service.alive() or time.monotonic() > deadline:
            service.stop()
            raise AssertionError(f"gunicorn did not listen:\n{service.tail()}")
        time.sleep(0.02)
    return service, f"http://127.0.0.1:{port}"


def test_every_process_can_serve_every_bundle_before_its_first_request() -> None:
    """In a fresh interpreter, importing the app (what each gunicorn worker does) is enough."""
    code = (
        "import json, app\n"
        "from dash.development.base_component import ComponentRegistry\n"
        "print(json.dumps([sorted(app.app.registered_paths),\n"
        "                  sorted({m.split('.')[0] for m in ComponentRegistry.registry})]))\n"
    )
    env = base_env(STABGRAPH_RESULTS_ROOT=str(Path(__file__).parent))
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=60)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    registered, libraries = json.loads(proc.stdout.splitlines()[-1])
    assert {"dash", "plotly", "dash_ag_grid"} <= set(registered)
    assert set(libraries) <= set(registered)


def test_a_first_visit_right_after_a_fresh_start_gets_every_bundle(
    tmp_path: Path, results_root: Path
) -> None:
    paths = first_visit_paths()
    assert len(paths) >= 15 and any("dash_ag_grid" in p for p in paths)
    failures: list[str] = []
    served = 0
    for attempt in range(STARTS):
        service, url = _fresh_start(tmp_path / f"start{attempt}", results_root)
        try:
            with ThreadPoolExecutor(len(paths)) as pool:
                answers = list(pool.map(
                    lambda p, url=url: (p, requests.get(url + p, timeout=START_TIMEOUT_S)), paths
                ))  # fmt: skip
            served += len(answers)
            failures += [f"start {attempt}: {a.status_code} {p}" for p, a in answers if not a.ok]
        finally:
            service.stop()
        log = service.log.read_text(errors="replace")
        failures += [
            f"start {attempt}: {line}" for line in re.findall(r"^\S*Exception: .*", log, re.M)
        ]
        assert re.search(r'<\d+> "GET /_dash-component-suites/', log), "the access log says who"
    assert failures == []
    assert served == STARTS * len(paths)
