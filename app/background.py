"""Where background callbacks (exports, large loads) run: embedded diskcache or Celery on Redis.

Without ``STABGRAPH_REDIS_URL`` the app needs nothing installed: a ``DiskcacheManager`` runs
each background callback on a small thread pool of the web worker that received it (using
that worker's Chromium for exports) and keeps progress and results in
``STABGRAPH_CACHE_DIR/callbacks``, which every gunicorn worker on the machine shares. With
``STABGRAPH_REDIS_URL`` set, the callbacks run on Celery workers (any number, on any machine)
that reach the same Redis, and each Celery pool process keeps one Chromium warm::

    celery -A app.background:celery_app worker --loglevel=INFO

Importing ``app.background`` imports the ``app`` package first, which builds the Dash app and
registers every callback; that is how the worker learns the background callbacks' tasks.
"""

from __future__ import annotations

import hashlib
import os
import socket
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import diskcache
import psutil
from dash import CeleryManager, DiskcacheManager

from stabgraph_core import export
from stabgraph_core.errors import StabgraphError

from .config import Settings, load_settings

if TYPE_CHECKING:  # Celery is an optional extra: imported only when Redis is configured
    from celery import Celery

# Background jobs per web worker in the embedded mode: exports render one at a time through
# the worker's Chromium, so a second thread only lets one job load data while another renders.
JOB_THREADS = 2
# A job whose worker vanished is forgotten after this long (on another host sharing the cache).
JOB_MAX_S = 600
_HOST = socket.gethostname()

# Finished results are fetched by the page within seconds; keep them long enough for a slow
# export to be picked up, short enough that Redis does not fill with forgotten figures.
RESULT_EXPIRES_S = 3600


def make_celery(redis_url: str) -> Celery:
    """A Celery app using ``redis_url`` as both broker and result backend.

    Args:
        redis_url: e.g. ``redis://redis:6379/0``.

    Returns:
        A configured Celery application; its tasks are the Dash background callbacks,
        registered when the ``app`` package is imported.

    Raises:
        StabgraphError: Celery is not installed (it is the ``celery`` extra).
    """
    try:
        from celery import Celery
        from celery.signals import worker_process_init, worker_process_shutdown
    except ImportError:
        raise StabgraphError(
            "STABGRAPH_REDIS_URL is set but Celery is not installed: "
            "pip install 'stabgraph[celery]'"
        ) from None
    # weak=False: the signal keeps the handlers; connecting twice is a no-op (same receiver)
    worker_process_init.connect(_start_renderer_in_pool_process, weak=False)
    worker_process_shutdown.connect(_stop_renderer_in_pool_process, weak=False)
    celery = Celery("stabgraph", broker=redis_url, backend=redis_url)
    celery.conf.update(
        result_expires=RESULT_EXPIRES_S,
        # One export at a time per worker process: exports are long, so prefetching more
        # would queue work behind a busy process while another sits idle.
        worker_prefetch_multiplier=1,
        task_acks_late=True,
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
    )
    return celery


def _start_renderer_in_pool_process(**_: Any) -> None:
    """Each Celery pool process keeps one warm Chromium, so an export does not wait for one."""
    export.start_renderer()


def _stop_renderer_in_pool_process(**_: Any) -> None:
    export.stop_renderer()


class _OneResultPerRequest:
    """Give every background job its own result key.

    Dash keys a job's result by the callback's arguments, so two people who click Download
    on the same view at the same moment would share one key: the first poll takes the file
    and the other page gets nothing. A random part in the key keeps their results apart;
    each is still deleted once its page has read it.
    """

    def build_cache_key(self, fn: Any, args: Any, cache_args_to_ignore: Any, triggered: Any) -> str:
        key = super().build_cache_key(fn, args, cache_args_to_ignore, triggered)  # type: ignore[misc]
        return hashlib.sha256(f"{key}:{uuid.uuid4().hex}".encode()).hexdigest()


class DiskcacheJobs(_OneResultPerRequest, DiskcacheManager):
    """``DiskcacheManager`` whose jobs run on a few threads of the web worker that got the click.

    Dash's own ``DiskcacheManager`` forks a process per job from the gunicorn worker. Such a
    process has none of the worker's threads, so it must start its own Chromium for every
    export (seconds of CPU each), and forking a multi-threaded worker can leave the child
    waiting forever on a lock that another thread held at the fork. Here a job runs on one of
    ``JOB_THREADS`` threads of the worker and uses the worker's warm Chromium. Progress and
    results still pass through the shared diskcache, so any worker can answer the page's polls.
    A running job cannot be cancelled; it finishes and its unread result is culled later.
    """

    def __init__(self, cache: diskcache.Cache, *, threads: int = JOB_THREADS) -> None:
        super().__init__(cache)
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="stabgraph-job")

    def call_job_fn(self, key: str, job_fn: Any, args: Any, context: Any) -> str:
        job = f"{_HOST}:{os.getpid()}:{uuid.uuid4().hex}"
        self.handle.set(_running_key(job), True, expire=JOB_MAX_S)

        def run() -> None:
            try:
                job_fn(key, self._make_progress_key(key), args, context)
            finally:
                self.handle.delete(_running_key(job))

        self._pool.submit(run)
        return job

    def job_running(self, job: str | None) -> bool:
        if not job or not self.handle.get(_running_key(job), False):
            return False
        host, pid, _ = str(job).split(":", 2)
        # A worker that died mid-job leaves its mark behind: on this host, check it is alive.
        return host != _HOST or psutil.pid_exists(int(pid))

    def terminate_job(self, job: str | None) -> None:
        """Threads cannot be stopped; a job that is no longer wanted simply finishes."""

    def terminate_unhealthy_job(self, job: str | None) -> bool:
        return False


def _running_key(job: str) -> str:
    return f"stabgraph-job-running:{job}"


class CeleryJobs(_OneResultPerRequest, CeleryManager):
    """``CeleryManager`` with a result key per request."""


_ENV_REDIS_URL = load_settings().redis_url
celery_app: Celery | None = make_celery(_ENV_REDIS_URL) if _ENV_REDIS_URL else None


def make_background_manager(settings: Settings) -> DiskcacheManager | CeleryManager:
    """The background-callback manager for these settings.

    Args:
        settings: server settings; ``redis_url`` selects Celery, otherwise diskcache under
            ``cache_dir``.

    Returns:
        ``CeleryManager`` over ``celery_app`` when ``settings.redis_url`` is set, else a
        ``DiskcacheManager`` whose cache directory all local workers share.
    """
    if settings.redis_url:
        global celery_app
        if celery_app is None or celery_app.conf.broker_url != settings.redis_url:
            # Settings that differ from the environment (tests, embedding): the worker must
            # then import this same module state, so keep the module attribute in step.
            celery_app = make_celery(settings.redis_url)
        return CeleryJobs(celery_app)
    cache_dir = settings.cache_dir / "callbacks"
    cache_dir.mkdir(parents=True, exist_ok=True)
    return DiskcacheJobs(diskcache.Cache(str(cache_dir)))
