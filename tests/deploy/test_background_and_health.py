"""Which background manager the settings select, and what ``/healthz`` says."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import threading
import time
from pathlib import Path

import flask
import pytest
from dash import CeleryManager, DiskcacheManager

import stabgraph_core
from app.background import make_background_manager, make_celery
from app.config import Settings
from app.health import register_health


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    root = tmp_path / "results"
    root.mkdir()
    return Settings(results_root=root, redis_url=None, cache_dir=tmp_path / "cache",
                    host="127.0.0.1", port=8050)  # fmt: skip


def test_without_redis_the_manager_is_diskcache_under_the_cache_dir(settings: Settings) -> None:
    manager = make_background_manager(settings)
    assert isinstance(manager, DiskcacheManager)
    assert Path(manager.handle.directory) == settings.cache_dir / "callbacks"
    assert (settings.cache_dir / "callbacks").is_dir()


def test_with_redis_the_manager_is_celery_on_that_redis(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    import app.background as background

    monkeypatch.setattr(background, "celery_app", background.celery_app)  # restored afterwards
    url = "redis://127.0.0.1:6399/3"
    manager = make_background_manager(dataclasses.replace(settings, redis_url=url))
    assert isinstance(manager, CeleryManager)
    assert manager.handle is background.celery_app, "the worker must see the same Celery app"
    assert manager.handle.conf.broker_url == url
    assert manager.handle.conf.result_backend == url


@pytest.mark.parametrize("redis_url", [None, "redis://127.0.0.1:6399/3"])
def test_the_same_request_twice_gets_two_result_keys(
    settings: Settings, redis_url: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two people exporting the same view at once must not share (and steal) one result."""
    import app.background as background

    monkeypatch.setattr(background, "celery_app", background.celery_app)
    manager = make_background_manager(dataclasses.replace(settings, redis_url=redis_url))

    def callback(n_clicks: int, fmt: str) -> None:
        return None

    first = manager.build_cache_key(callback, [1, "pdf"], [], None)
    second = manager.build_cache_key(callback, [1, "pdf"], [], None)
    assert first != second and len(first) == len(second) == 64


def test_embedded_jobs_run_on_threads_and_report_while_running(settings: Settings) -> None:
    """A job's result and progress reach the cache; it counts as running until it finishes."""
    manager = make_background_manager(settings)
    release = threading.Event()

    def job_fn(key: str, progress_key: str, args: list, context: dict) -> None:
        manager.handle.set(progress_key, [1, 3])
        release.wait(10)
        manager.handle.set(key, {"args": args, "thread": threading.current_thread().name})

    job = manager.call_job_fn("k1", job_fn, [7], {})
    assert manager.job_running(job)
    release.set()
    deadline = time.monotonic() + 10
    while manager.job_running(job) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not manager.job_running(job)
    result = manager.get_result("k1", job)
    assert result["args"] == [7] and result["thread"].startswith("stabgraph-job")
    assert manager.get_result("k1", job) is manager.UNDEFINED, "read once, then deleted"


def test_a_job_of_a_dead_worker_is_not_running(settings: Settings) -> None:
    import app.background as background

    manager = make_background_manager(settings)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    here = f"{background._HOST}:{dead.pid}:x"
    elsewhere = f"other-host:{dead.pid}:y"
    for job in (here, elsewhere):
        manager.handle.set(background._running_key(job), True)
    assert not manager.job_running(here), "its worker is gone"
    assert manager.job_running(elsewhere), "another host's worker: trust its mark"
    assert not manager.job_running(None)


def test_celery_is_configured_for_long_exports() -> None:
    celery = make_celery("redis://127.0.0.1:6399/0")
    assert celery.conf.worker_prefetch_multiplier == 1
    assert celery.conf.task_acks_late is True
    assert celery.conf.result_expires > 0


def test_healthz_reports_version_root_and_exporter(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STABGRAPH_RESULTS_ROOT", str(settings.results_root))
    server = flask.Flask("t")
    register_health(server)
    answer = server.test_client().get("/healthz")
    assert answer.status_code == 200
    body = answer.get_json()
    assert body["status"] == "ok"
    assert body["version"] == stabgraph_core.__version__
    assert body["results_root_readable"] is True
    assert isinstance(body["exporter_ready"], bool)


def test_healthz_reads_the_results_root_when_asked(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As the page does: ``python -m app --results_root`` sets it after the import."""
    monkeypatch.setenv("STABGRAPH_RESULTS_ROOT", str(settings.results_root / "nope"))
    server = flask.Flask("t")
    register_health(server)
    assert server.test_client().get("/healthz").get_json()["results_root_readable"] is False
    monkeypatch.setenv("STABGRAPH_RESULTS_ROOT", str(settings.results_root))
    assert server.test_client().get("/healthz").get_json()["results_root_readable"] is True
