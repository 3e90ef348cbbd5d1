"""Start and stop real servers (gunicorn, redis-server, a Celery worker) on loopback, bounded.

Each process runs in its own session so that stopping it also stops what it started
(gunicorn's workers, Celery's pool); every wait has a deadline and reports the log's tail.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
DOCKERFILE = ROOT / "Dockerfile"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def dockerfile_instruction(name: str) -> list[str]:
    """The exec-form (JSON array) arguments of the Dockerfile's last ``name`` instruction."""
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    found = re.findall(rf"^{name}\s+(\[.*\])\s*$", text, re.M)
    if not found:
        raise AssertionError(f"Dockerfile has no exec-form {name}")
    return json.loads(found[-1])


def dockerfile_healthcheck() -> list[str]:
    """The ``HEALTHCHECK ... CMD [...]`` command of the Dockerfile."""
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    found = re.findall(r"^HEALTHCHECK\s.*?\bCMD\s+(\[.*\])\s*$", text, re.M)
    if not found:
        raise AssertionError("Dockerfile has no exec-form HEALTHCHECK")
    return json.loads(found[-1])


def base_env(**overrides: str) -> dict[str, str]:
    """The test's environment without stabgraph settings, the virtualenv first on PATH."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STABGRAPH_", "GUNICORN_"))}
    for name in ("WEB_CONCURRENCY", "HOST", "PORT", "PYTHONPATH"):
        env.pop(name, None)
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONUNBUFFERED"] = "1"
    env.update(overrides)
    return env


@dataclass
class Service:
    """A started process, its log file and (for servers) its base URL."""

    name: str
    process: subprocess.Popen
    log: Path
    env: dict[str, str]
    url: str = ""

    def alive(self) -> bool:
        return self.process.poll() is None

    def tail(self, lines: int = 60) -> str:
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, timeout: float = 20.0) -> int | None:
        """SIGTERM the process group, then SIGKILL what is left after ``timeout``."""
        if self.alive():
            _signal_group(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                _signal_group(self.process.pid, signal.SIGKILL)
                self.process.wait(5)
        _signal_group(self.process.pid, signal.SIGKILL)  # stragglers in the group
        return self.process.returncode


def _signal_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


def start(
    name: str, argv: list[str], *, env: dict[str, str], log_dir: Path, cwd: Path = ROOT
) -> Service:
    """Start ``argv`` in ``cwd`` (the repository root) with its output in ``log_dir/<name>.log``."""
    log_dir.mkdir(parents=True, exist_ok=True)
    log = log_dir / f"{name}.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            argv,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return Service(name, process, log, env)


def wait_until(check: Callable[[], bool], *, timeout: float, what: str, service: Service) -> None:
    """Poll ``check`` until it is true; fail with the service's log if it dies or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not service.alive():
            raise AssertionError(f"{service.name} exited ({service.process.returncode}) before "
                                 f"{what}:\n{service.tail()}")  # fmt: skip
        try:
            if check():
                return
        except (OSError, requests.RequestException):
            pass
        time.sleep(0.1)
    raise AssertionError(f"{service.name}: no {what} after {timeout}s:\n{service.tail()}")


def start_gunicorn(env: dict[str, str], log_dir: Path, *, timeout: float = 60.0) -> Service:
    """Run the Dockerfile's CMD on a free loopback port; return once ``/healthz`` answers 200."""
    port = free_port()
    env = {**env, "HOST": "127.0.0.1", "PORT": str(port)}
    service = start("gunicorn", dockerfile_instruction("CMD"), env=env, log_dir=log_dir)
    service.url = f"http://127.0.0.1:{port}"
    try:
        wait_until(
            lambda: requests.get(service.url + "/healthz", timeout=2).status_code == 200,
            timeout=timeout,
            what="/healthz",
            service=service,
        )
    except BaseException:
        service.stop()
        raise
    return service


def start_redis(log_dir: Path, *, timeout: float = 15.0) -> Service:
    """A throw-away ``redis-server`` on a free loopback port, persisting nothing."""
    import redis

    port = free_port()
    work = log_dir / "redis"
    work.mkdir(parents=True, exist_ok=True)
    argv = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
            "--appendonly", "no", "--dir", str(work)]  # fmt: skip
    service = start("redis", argv, env=base_env(), log_dir=log_dir)
    service.url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(service.url, socket_timeout=1)

    def pong() -> bool:
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False

    try:
        wait_until(pong, timeout=timeout, what="PONG", service=service)
    except BaseException:
        service.stop()
        raise
    finally:
        client.close()
    return service


def start_celery_worker(env: dict[str, str], log_dir: Path, *, timeout: float = 60.0) -> Service:
    """``celery -A app.background:celery_app worker`` (as in docker-compose), once ready."""
    argv = [str(VENV_BIN / "celery"), "-A", "app.background:celery_app", "worker",
            "--loglevel=INFO", "--concurrency=2", "--without-gossip", "--without-mingle",
            "--without-heartbeat", "--hostname", f"test-{os.getpid()}@%h"]  # fmt: skip
    service = start("celery", argv, env=env, log_dir=log_dir)
    try:
        wait_until(lambda: " ready." in service.tail(200), timeout=timeout, what="ready",
                   service=service)  # fmt: skip
    except BaseException:
        service.stop()
        raise
    return service
