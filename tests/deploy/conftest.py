"""Servers for the deployment tests: gunicorn from the Dockerfile's CMD, redis-server, Celery.

Each fixture starts real processes on free loopback ports and always stops them afterwards.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from services import Service, base_env, start_celery_worker, start_gunicorn, start_redis


@pytest.fixture(scope="module")
def results_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A results root with one folder of two runs (loss at step k is 2k + run)::

    results/
      demo/
        mamba_seq8192.json      steps 0..99, loss 2k
        mamba_seq32768.json     steps 0..99, loss 2k + 1
    """
    root = tmp_path_factory.mktemp("results")
    demo = root / "demo"
    demo.mkdir()
    steps = list(range(100))
    for run, seq_len in enumerate((8192, 32768)):
        record = {"seq_len": seq_len, "steps": steps, "loss": [2 * k + run for k in steps]}
        (demo / f"mamba_seq{seq_len}.json").write_text(json.dumps(record))
    return root


def _need(program: str) -> None:
    if shutil.which(program) is None:
        pytest.skip(f"{program} is not installed (scripts/setup.sh installs it)")


@pytest.fixture(scope="module")
def embedded_app(tmp_path_factory: pytest.TempPathFactory, results_root: Path) -> Iterator[Service]:
    """gunicorn (2 workers) with the embedded diskcache background manager."""
    work = tmp_path_factory.mktemp("embedded")
    env = base_env(
        STABGRAPH_RESULTS_ROOT=str(results_root),
        STABGRAPH_CACHE_DIR=str(work / "cache"),
        WEB_CONCURRENCY="2",
    )
    service = start_gunicorn(env, work / "logs")
    try:
        yield service
    finally:
        service.stop()


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    _need("redis-server")
    service = start_redis(tmp_path_factory.mktemp("redis"))
    try:
        yield service
    finally:
        service.stop()


@pytest.fixture(scope="module")
def scaled_app(
    tmp_path_factory: pytest.TempPathFactory, results_root: Path, redis_server: Service
) -> Iterator[tuple[Service, Service]]:
    """gunicorn (2 workers) whose background callbacks run on a Celery worker over Redis."""
    work = tmp_path_factory.mktemp("scaled")
    env = base_env(
        STABGRAPH_RESULTS_ROOT=str(results_root),
        STABGRAPH_CACHE_DIR=str(work / "cache"),
        STABGRAPH_REDIS_URL=redis_server.url,
        WEB_CONCURRENCY="2",
    )
    worker = start_celery_worker(env, work / "logs")
    try:
        web = start_gunicorn(env, work / "logs")
        try:
            yield web, worker
        finally:
            web.stop()
    finally:
        worker.stop()
