"""``stabgraph serve [ROOT]``: the dashboard on a results folder, on gunicorn.

The library imports no Dash: this module starts the dashboard (the ``stabgraph_app`` package)
in a child process, ``python -m gunicorn -c python:stabgraph_app.gunicorn_conf
stabgraph_app:server``, with the settings in its environment. Where gunicorn cannot run
(Windows has no ``fork``), it runs the development server instead and says so. The URL to
open is printed once the server answers.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Sequence
from pathlib import Path

from .errors import StabgraphError

APP_PACKAGE = "stabgraph_app"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8050
#: The dashboard's source that shows every run under the results root (see app/data.py).
WHOLE_ROOT = "folder:."
_READY_TIMEOUT = 120.0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="stabgraph serve",
        description="Serve the stabgraph dashboard on a folder of training logs.",
    )
    p.add_argument(
        "root",
        nargs="?",
        default=None,
        metavar="ROOT",
        help="folder of training logs: every run under it, and each sub-folder on its own "
        "(default: simulated runs only)",
    )
    p.add_argument(
        "--host", default=DEFAULT_HOST, help="address to listen on (default: %(default)s)"
    )
    p.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help="port to listen on (default: %(default)s)"
    )
    p.add_argument(
        "--workers",
        type=int,
        default=None,
        help="server processes; each keeps its own export browser "
        "(default: $WEB_CONCURRENCY, else 2)",
    )
    p.add_argument(
        "--poll",
        type=float,
        default=None,
        metavar="S",
        help="seconds between the open page's checks of its folder, 0 for never "
        "(default: $STABGRAPH_POLL_S, else 1)",
    )
    p.add_argument(
        "--access-log", action="store_true", help="log every request to stdout (default: off)"
    )
    p.add_argument(
        "--dev",
        action="store_true",
        help="Flask's development server with Dash's dev tools instead of gunicorn",
    )
    return p


def shown_url(host: str, port: int) -> str:
    """The address a person opens: a wildcard host is reached as localhost."""
    if host in ("", "0.0.0.0", "::", "[::]"):
        host = "localhost"
    elif ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{port}/"


def has_gunicorn() -> bool:
    """True where gunicorn is installed and can run (it needs ``fork``: not on Windows)."""
    return os.name == "posix" and importlib.util.find_spec("gunicorn") is not None


def _check_port_free(host: str, port: int) -> None:
    family = socket.AF_INET6 if ":" in host.strip("[]") else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host.strip("[]"), port))
        except OSError as err:
            raise StabgraphError(
                f"cannot listen on {host}:{port}: {err.strerror or err}"
                " (is another server there? pick another with --port)"
            ) from None


def server_command(args: argparse.Namespace) -> tuple[list[str], dict[str, str], str | None]:
    """The child's command line and environment, and a note to print (or None).

    Raises:
        StabgraphError: ROOT is not a folder, the port is out of range or taken, or the
            dashboard is not installed.
    """
    if not 0 < args.port < 65536:
        raise StabgraphError(f"--port {args.port}: not a port number (1-65535)")
    if args.workers is not None and args.workers < 1:
        raise StabgraphError(f"--workers {args.workers}: at least one worker is needed")
    if args.poll is not None and not args.poll >= 0:
        raise StabgraphError(f"--poll {args.poll}: seconds, 0 or more")
    env = dict(os.environ)
    given = args.root if args.root is not None else env.get("STABGRAPH_RESULTS_ROOT") or None
    if given is not None:
        root = Path(given).expanduser()
        if not root.is_dir():
            what = "does not exist" if not root.exists() else "is not a folder"
            raise StabgraphError(f"{given}: {what}")
        env["STABGRAPH_RESULTS_ROOT"] = str(root.resolve())
        env.setdefault("STABGRAPH_DEFAULT_SOURCE", WHOLE_ROOT)
    else:
        env["STABGRAPH_DEFAULT_SOURCE"] = "simulated"
        # no folder named: a ./results beside the user is not listed by surprise
        env["STABGRAPH_RESULTS_ROOT"] = os.devnull
    if importlib.util.find_spec(APP_PACKAGE) is None:
        raise StabgraphError(
            f"the dashboard ({APP_PACKAGE}) is not installed with this stabgraph: "
            "reinstall it with `pip install stabgraph`"
        )
    _check_port_free(args.host, args.port)
    env["HOST"], env["PORT"] = args.host, str(args.port)
    env.pop("GUNICORN_BIND", None)
    if args.workers is not None:
        env["WEB_CONCURRENCY"] = str(args.workers)
    if args.poll is not None:
        env["STABGRAPH_POLL_S"] = f"{args.poll:g}"
    env["ACCESS_LOG"] = "-" if args.access_log else "off"
    note = None
    if args.dev or not has_gunicorn():
        if not args.dev:
            note = "gunicorn cannot run on this platform: serving with the development server"
        cmd = [sys.executable, "-m", APP_PACKAGE, "--host", args.host, "--port", str(args.port)]
        if args.dev:
            cmd.append("--debug")
    else:
        cmd = [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            f"python:{APP_PACKAGE}.gunicorn_conf",
            f"{APP_PACKAGE}:server",
        ]
    return cmd, env, note


def _wait_ready(proc: subprocess.Popen, url: str) -> bool:
    """True once ``url`` + healthz answers; False if the server exits first or never answers."""
    deadline = time.monotonic() + _READY_TIMEOUT
    probe = url.replace("://localhost:", "://127.0.0.1:") + "healthz"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        with contextlib.suppress(OSError), urllib.request.urlopen(probe, timeout=2) as answer:
            if answer.status == 200:
                return True
        time.sleep(0.2)
    return False


def main(argv: Sequence[str]) -> int:
    """Run ``stabgraph serve``; returns the server's exit code (1 for a user-facing error)."""
    args = build_parser().parse_args(argv)
    try:
        cmd, env, note = server_command(args)
    except StabgraphError as err:
        print(f"stabgraph serve: error: {err}", file=sys.stderr)
        return 1
    if note:
        print(f"stabgraph serve: {note}", file=sys.stderr)
    url = shown_url(args.host, args.port)
    root = env["STABGRAPH_RESULTS_ROOT"]
    what = "simulated runs" if root == os.devnull else root
    print(f"stabgraph serve: starting on {what} ...", flush=True)
    proc = subprocess.Popen(cmd, env=env)

    def forward(signum: int, _frame: object) -> None:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signum)

    previous = signal.signal(signal.SIGTERM, forward)
    try:
        if _wait_ready(proc, url):
            print(f"stabgraph serve: open {url}  (Ctrl-C stops)", flush=True)
        elif proc.poll() is None:
            print(f"stabgraph serve: {url} does not answer yet; still waiting", file=sys.stderr)
        while True:
            try:
                return proc.wait()
            except KeyboardInterrupt:
                # Ctrl-C reached the server too (same process group): let it stop cleanly
                continue
    finally:
        signal.signal(signal.SIGTERM, previous)
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()


__all__ = ["build_parser", "main", "server_command", "shown_url"]
