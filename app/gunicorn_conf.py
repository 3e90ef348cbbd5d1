"""gunicorn settings for serving stabgraph.

``stabgraph serve`` runs ``gunicorn -c python:stabgraph_app.gunicorn_conf stabgraph_app:server``;
from a checkout (and in the Docker image) ``gunicorn -c gunicorn.conf.py app:server`` reads the
same settings through the top-level ``gunicorn.conf.py``.

Every value comes from an environment variable with a default that suits a 2-core machine:

WEB_CONCURRENCY     worker processes (default 2); each holds its own Chromium for exports
GUNICORN_THREADS    threads per worker (default 4): page loads stay quick while an export runs
GUNICORN_TIMEOUT    seconds a request may take before its worker is restarted (default 180)
HOST / PORT         where to listen (default 127.0.0.1:8050; the Docker image sets 0.0.0.0)
GUNICORN_BIND       overrides HOST/PORT with a full bind address (e.g. unix:/run/sg.sock)
LOG_LEVEL           gunicorn's error-log level (default info)
ACCESS_LOG          where each request is logged: ``-`` stdout (default), ``off``, or a file

Each worker starts its export browser after it is forked (never in the master, whose
threads and child processes would not survive the fork) and stops it when it exits.
"""

from __future__ import annotations

import os
from pathlib import Path


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


bind = os.environ.get("GUNICORN_BIND") or (
    f"{os.environ.get('HOST', '127.0.0.1')}:{_env_int('PORT', 8050)}"
)
workers = _env_int("WEB_CONCURRENCY", 2)
worker_class = "gthread"
threads = _env_int("GUNICORN_THREADS", 4)
# A PDF or high-DPI PNG of many long runs can take tens of seconds; background exports poll,
# but a synchronous one must not be killed half-way.
timeout = _env_int("GUNICORN_TIMEOUT", 180)
graceful_timeout = 30
keepalive = 5

_access = os.environ.get("ACCESS_LOG", "-").strip() or "-"
accesslog = None if _access.lower() == "off" else _access
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info")
access_log_format = '%(h)s %(p)s "%(r)s" %(s)s %(b)s %(M)sms'  # %(p)s: the worker's pid

# The app is imported in each worker, after the fork, so nothing (threads, sockets,
# browsers) is shared by accident between workers.
preload_app = False
# Several servers may run on one host (tests, staging) and would clash on gunicorn's per-user
# control socket; nothing here uses it.
control_socket_disable = True
# The heartbeat file must live on a RAM disk in containers (see gunicorn's FAQ on fchmod).
if Path("/dev/shm").is_dir():
    worker_tmp_dir = "/dev/shm"

# Production mode: no Dash dev tools, no hot reload, no Flask debugger.
raw_env = ["DASH_DEBUG=false", "FLASK_DEBUG=0"]
reload = False


def post_worker_init(worker) -> None:
    """Start this worker's export browser once the app is loaded in it, and wait for it."""
    from stabgraph_core import export

    from . import health  # this package, under whichever name it was imported

    try:
        export.start_renderer(wait=True)
    except Exception as err:  # a missing Chromium must not stop pages from being served
        health.note_renderer(started=False)
        worker.log.warning("export browser not started in worker %s: %s", worker.pid, err)
    else:
        health.note_renderer(started=True)
        worker.log.info("export browser started in worker %s", worker.pid)


def worker_exit(server, worker) -> None:
    """Stop this worker's export browser so that no Chromium outlives its worker."""
    from stabgraph_core import export

    export.stop_renderer()
