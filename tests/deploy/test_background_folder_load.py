"""Choosing a results folder over HTTP: the load is a background job, the runs stay on the server.

Run against both deployments under gunicorn (2 workers): the embedded default, where the job
runs on a thread of a web worker, and Celery on a real redis-server, where a Celery worker
runs it. Either way the job writes the folder to the shared run cache, and the chart drawn
afterwards by a web worker reads it from there instead of parsing the logs again.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from dash_http import CallbackResult, DashSession
from services import Service

from app import ids

pytestmark = pytest.mark.slow

STORE = f"{ids.SOURCE_STORE}.data"
PICK = f"{ids.SOURCE}.value"


def load_demo_then_draw(url: str) -> tuple[dict, CallbackResult, CallbackResult]:
    """Pick the ``demo`` folder as the page does, then draw the chart for what it set."""
    session = DashSession(url, timeout=60)
    try:
        session.load_page()
        load = session.find(STORE)
        values = session.initial_values()
        values[PICK] = "folder:demo"
        loaded = session.call(load, values, changed=[PICK], poll_interval=0.05)
        draw = session.find(f"{ids.GRAPH}.figure")
        values = session.resolve(draw, values)
        values[STORE] = loaded.props[ids.SOURCE_STORE]["data"]
        drawn = session.call(draw, values, changed=[STORE])
        return load, loaded, drawn
    finally:
        session.close()


def check_loaded_and_drawn(service: Service) -> None:
    load, loaded, drawn = load_demo_then_draw(service.url)
    assert load["background"]["interval"] > 0 and loaded.polls >= 1, "the load is polled"
    indicator = f"{ids.SOURCE_LOADING}.hidden"
    assert load["running"]["running"][indicator] is False, "the indicator shows meanwhile"
    assert load["running"]["runningOff"][indicator] is True
    props = loaded.props
    store = dict(props[ids.SOURCE_STORE]["data"])
    assert re.fullmatch(r"[0-9a-f]{64}", store.pop("snapshot")), "the store names a snapshot"
    assert store == {"kind": "folder", "folder": "demo"}
    assert props[ids.SOURCE_STATUS]["children"].startswith("2 runs · 1 model · 2 lengths")
    assert len(json.dumps(props)) < 2_000, "the answer carries labels, not the runs' points"
    figure = drawn.props[ids.GRAPH]["figure"]
    loss = [t for t in figure["data"] if t.get("meta", {}).get("role") == "loss"]
    assert {t["meta"]["seq_len"] for t in loss} == {8192, 32768}
    (entry,) = (Path(service.env["STABGRAPH_CACHE_DIR"]) / "runs").glob("*.npz")
    assert entry.stat().st_mtime_ns  # the job left the parsed folder for every worker


def test_embedded_folder_load_is_a_background_job(embedded_app: Service) -> None:
    check_loaded_and_drawn(embedded_app)


def test_celery_worker_loads_the_folder_and_the_web_worker_draws_it(
    scaled_app: tuple[Service, Service],
) -> None:
    web, worker = scaled_app
    done_before = worker.log.read_text(errors="replace").count("succeeded")
    check_loaded_and_drawn(web)
    done = worker.log.read_text(errors="replace").count("succeeded") - done_before
    assert done >= 1, "the Celery worker ran the load"
