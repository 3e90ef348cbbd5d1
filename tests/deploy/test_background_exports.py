"""Exports through the page's background callback, over HTTP, as the browser drives them.

Two deployments, each under gunicorn with 2 workers on loopback: the embedded default
(diskcache; an export runs on a thread of the web worker, with its Chromium) and the scaled one
(a real redis-server and a Celery worker run the exports; the web workers only enqueue and
poll). Every file is checked to be of the format asked for.
"""

from __future__ import annotations

import base64
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psutil
import pytest
import requests
from dash_http import CallbackResult, DashSession
from services import Service

from app import ids

pytestmark = pytest.mark.slow

MAGIC = {
    "pdf": b"%PDF-",
    "svg": b"<svg",
    "eps": b"%!PS-Adobe",
    "png": b"\x89PNG\r\n\x1a\n",
}
EXPORT = f"{ids.DOWNLOAD}.data"
CLICK = f"{ids.EXPORT_BUTTON}.n_clicks"


def export(url: str, fmt: str, **overrides: Any) -> CallbackResult:
    """Load the page, then click Download with ``fmt`` chosen, polling until it finishes."""
    session = DashSession(url, timeout=60)
    try:
        session.load_page()
        spec = session.find(EXPORT)
        values = session.resolve(spec, session.initial_values())
        values.update({f"{ids.EXPORT_FORMAT}.value": fmt, CLICK: 1, **overrides})
        return session.call(spec, values, changed=[CLICK], poll_interval=0.05, deadline_s=90)
    finally:
        session.close()


def file_of(result: CallbackResult) -> tuple[str, bytes]:
    data = result.props[ids.DOWNLOAD]["data"]
    assert data, f"no file: {result.props.get(ids.EXPORT_STATUS)}"
    content = base64.b64decode(data["content"]) if data.get("base64") else data["content"].encode()
    return data["filename"], content


def _is_chromium(process: psutil.Process | None) -> bool:
    return process is not None and "chrom" in process.name().lower()


def _browser_pids(service: Service, timeout: float = 30.0) -> set[int]:
    """Main Chromium processes (not their renderers and helpers), once each worker has one."""
    deadline = time.monotonic() + timeout
    while True:
        found = {
            p.pid
            for p in psutil.Process(service.process.pid).children(recursive=True)
            if _is_chromium(p) and not _is_chromium(p.parent())
        }
        if len(found) >= 2 or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def test_embedded_export_uses_the_workers_browser_and_arrives_as_pdf(
    embedded_app: Service,
) -> None:
    before = _browser_pids(embedded_app)
    result = export(embedded_app.url, "pdf")
    assert _browser_pids(embedded_app) == before, "no new Chromium per export"
    assert result.status == 200 and result.polls >= 1, "a background callback is polled"
    name, content = file_of(result)
    assert name.endswith(".pdf") and content.startswith(MAGIC["pdf"])
    status = result.props[ids.EXPORT_STATUS]
    assert "error" not in status["className"] and name in status["children"]
    assert result.progress, "progress reaches the page while the export runs"
    assert {p[f"{ids.EXPORT_PROGRESS}.max"] for p in result.progress} == {3}


def test_embedded_failed_export_shows_its_error(embedded_app: Service) -> None:
    result = export(embedded_app.url, "png", **{f"{ids.EXPORT_DPI}.value": 5000})
    assert result.props[ids.DOWNLOAD]["data"] is None
    status = result.props[ids.EXPORT_STATUS]
    assert "error" in status["className"]
    assert "Download failed" in status["children"] and "dpi" in status["children"]


@pytest.mark.parametrize("fmt", ["pdf", "svg", "eps", "png"])
def test_celery_worker_renders_every_format(scaled_app: tuple[Service, Service], fmt: str) -> None:
    web, worker = scaled_app
    result = export(web.url, fmt)
    name, content = file_of(result)
    assert name.endswith(f".{fmt}")
    assert content.startswith(MAGIC[fmt]) or (fmt == "svg" and MAGIC[fmt] in content[:500])
    assert "succeeded" in worker.tail(400), "the Celery worker ran the job"


def test_two_people_exporting_the_same_view_at_once_both_get_the_file(
    scaled_app: tuple[Service, Service],
) -> None:
    web, _ = scaled_app
    with ThreadPoolExecutor(max_workers=3) as pool:
        results = list(pool.map(lambda _: export(web.url, "svg"), range(3)))
    for result in results:
        name, content = file_of(result)
        assert name.endswith(".svg") and MAGIC["svg"] in content[:500]


def test_celery_failed_export_shows_its_error(scaled_app: tuple[Service, Service]) -> None:
    web, _ = scaled_app
    result = export(web.url, "pdf", **{f"{ids.SOURCE_STORE}.data": {"kind": "nonsense"}})
    status = result.props[ids.EXPORT_STATUS]
    assert result.props[ids.DOWNLOAD]["data"] is None
    assert "error" in status["className"] and "unknown source" in status["children"]


def test_scaled_app_is_healthy_and_uses_redis(
    scaled_app: tuple[Service, Service], redis_server: Service
) -> None:
    import redis

    web, _ = scaled_app
    assert requests.get(web.url + "/healthz", timeout=5).json()["exporter_ready"] is True
    client = redis.Redis.from_url(redis_server.url)
    try:
        keys = {k.decode() for k in client.keys("*")}
    finally:
        client.close()
    # both web workers sign job handles with one secret kept in Redis, so either may answer
    assert "__dash_background_signing_secret__" in keys, keys
    assert any(k.startswith("celery-task-meta-") for k in keys), "Celery recorded the jobs"
