"""Load test: gunicorn (2 workers) on loopback, concurrent clients mixing pages, figures, exports.

Starts the app exactly as the Docker image does (``gunicorn -c gunicorn.conf.py app:server``)
on a free 127.0.0.1 port, optionally with Redis and a Celery worker for the background
callbacks, then runs N client threads for a fixed time. Each client behaves like a page:
it loads ``/`` (with layout and dependencies), asks for the figure, and downloads exports in
PDF, SVG, EPS and PNG through the background export callback, checking that every file's
bytes are of the format asked for. Prints counts, errors and p50/p99 latency per kind.

    .venv/bin/python benchmarks/load_test.py                  # 20 clients, 60 s, embedded
    .venv/bin/python benchmarks/load_test.py --redis          # exports on a Celery worker
    .venv/bin/python benchmarks/load_test.py --duration 10 --clients 5
"""

from __future__ import annotations

import argparse
import base64
import random
import shutil
import sys
import tempfile
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "deploy")]

from dash_http import DashSession  # noqa: E402
from services import (  # noqa: E402
    base_env,
    start_celery_worker,
    start_gunicorn,
    start_redis,
)

from app import ids  # noqa: E402

FORMATS = ("pdf", "svg", "eps", "png")
MAGIC = {
    "pdf": lambda b: b.startswith(b"%PDF-"),
    "svg": lambda b: b.lstrip()[:5] in (b"<svg ", b"<?xml") and b"<svg" in b[:2000],
    "eps": lambda b: b.startswith(b"%!PS-Adobe") and b"EPSF" in b.split(b"\n", 1)[0],
    "png": lambda b: b.startswith(b"\x89PNG\r\n\x1a\n"),
}
# Longer than the export module's own render timeout, so that its error is what we see.
EXPORT_DEADLINE_S = 200
FIGURE_OUTPUT = f"{ids.GRAPH}.figure"
EXPORT_OUTPUT = f"{ids.DOWNLOAD}.data"


@dataclass
class Sample:
    kind: str
    seconds: float
    error: str | None = None


def export_bytes(props: dict[str, Any]) -> bytes:
    """The file a ``dcc.Download`` received."""
    data = props.get(ids.DOWNLOAD, {}).get("data")
    if not data:
        raise AssertionError(f"no download in the answer: {str(props)[:300]}")
    content = data["content"]
    return base64.b64decode(content) if data.get("base64") else content.encode()


class Client:
    """One simulated user: a page session and a seeded sequence of actions."""

    def __init__(self, url: str, number: int, mix: dict[str, int], template: dict[str, Any]):
        self.url = url
        self.rng = random.Random(number)
        self.kinds = [k for k, w in mix.items() for _ in range(w)]
        self.template = template
        self.exports = 0
        self.number = number
        self.session = DashSession(url, timeout=120)

    def run(self, deadline: float, samples: list[Sample], lock: threading.Lock) -> None:
        try:
            self.session.load_page()
            while time.monotonic() < deadline:
                kind = self.rng.choice(self.kinds)
                start = time.perf_counter()
                error = None
                try:
                    kind = self.act(kind)
                except Exception as err:  # noqa: BLE001 - every failure is counted
                    error = f"{type(err).__name__}: {str(err)[:300]}"
                sample = Sample(kind, time.perf_counter() - start, error)
                with lock:
                    samples.append(sample)
        finally:
            self.session.close()

    def act(self, kind: str) -> str:
        values = dict(self.template)
        if kind == "page":
            self.session.load_page()
            return kind
        if kind == "figure":
            spec = self.session.find(FIGURE_OUTPUT)
            lengths = values.get(f"{ids.LENGTHS}.value") or []
            if lengths:  # a different subset each time, as a user toggling lengths would
                pick = [n for n in lengths if self.rng.random() < 0.7] or lengths[:1]
                values[f"{ids.LENGTHS}.value"] = pick
            # a different smoothing and scale redraws the curves rather than reusing a figure
            values[f"{ids.SMOOTHING}.value"] = self.rng.choice([0.0, 0.3, 0.6, 0.9, 0.99])
            values[f"{ids.LOG_Y}.value"] = self.rng.choice(["linear", "log"])
            changed = f"{ids.SMOOTHING}.value"
            result = self.session.call(spec, values, changed=[changed])
            if result.status != 200 or ids.GRAPH not in result.props:
                raise AssertionError(f"figure callback gave {result.status}")
            return kind
        fmt = FORMATS[(self.number + self.exports) % len(FORMATS)]
        self.exports += 1
        spec = self.session.find(EXPORT_OUTPUT)
        values[f"{ids.EXPORT_FORMAT}.value"] = fmt
        values[f"{ids.EXPORT_BUTTON}.n_clicks"] = self.exports
        result = self.session.call(
            spec, values, changed=[f"{ids.EXPORT_BUTTON}.n_clicks"], deadline_s=EXPORT_DEADLINE_S
        )
        body = export_bytes(result.props)
        if not MAGIC[fmt](body):
            raise AssertionError(f"{fmt} export starts with {body[:16]!r}")
        return f"export {fmt}"


def template_values(url: str) -> dict[str, Any]:
    """Initial prop values of the page, with those its start-up callbacks fill in."""
    session = DashSession(url, timeout=120)
    try:
        session.load_page()
        values = session.initial_values()
        for output in (FIGURE_OUTPUT, EXPORT_OUTPUT):
            values = session.resolve(session.find(output), values)
        return values
    finally:
        session.close()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def report(samples: list[Sample], duration: float) -> int:
    by_kind: dict[str, list[Sample]] = defaultdict(list)
    for s in samples:
        by_kind[s.kind].append(s)
    print(f"\n{'kind':<12}{'count':>7}{'errors':>8}{'p50 ms':>10}{'p99 ms':>10}{'max ms':>10}")
    total_errors = 0
    for kind in sorted(by_kind):
        group = by_kind[kind]
        ok = [s.seconds * 1000 for s in group if s.error is None]
        errors = sum(1 for s in group if s.error)
        total_errors += errors
        p50, p99, top = (percentile(ok, 50), percentile(ok, 99), max(ok)) if ok else (0, 0, 0)
        print(f"{kind:<12}{len(group):>7}{errors:>8}{p50:>10.0f}{p99:>10.0f}{top:>10.0f}")
    print(f"\n{len(samples)} requests in {duration:.0f} s ({len(samples) / duration:.1f}/s), "
          f"{total_errors} errors")  # fmt: skip
    for s in [s for s in samples if s.error][:10]:
        print(f"  {s.kind}: {s.error}")
    return total_errors


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker")
    parser.add_argument(
        "--redis", action="store_true", help="background callbacks on Celery over redis-server"
    )
    parser.add_argument(
        "--mix", default="page=3,figure=5,export=2", help="weights of pages, figures, exports"
    )
    args = parser.parse_args()
    mix = {k: int(v) for k, v in (item.split("=") for item in args.mix.split(","))}

    work = Path(tempfile.mkdtemp(prefix="stabgraph-load-"))
    results = work / "results"
    results.mkdir()
    env = base_env(STABGRAPH_RESULTS_ROOT=str(results), STABGRAPH_CACHE_DIR=str(work / "cache"),
                   WEB_CONCURRENCY=str(args.workers), GUNICORN_THREADS=str(args.threads),
                   LOG_LEVEL="warning")  # fmt: skip
    env["GUNICORN_CMD_ARGS"] = "--access-logfile /dev/null"
    services = []
    failed = True
    try:
        if args.redis:
            redis = start_redis(work / "logs")
            services.append(redis)
            env["STABGRAPH_REDIS_URL"] = redis.url
            services.append(start_celery_worker(env, work / "logs"))
        web = start_gunicorn(env, work / "logs")
        services.append(web)
        mode = "Celery + Redis" if args.redis else "embedded diskcache"
        print(f"gunicorn {args.workers} workers x {args.threads} threads at {web.url}, "
              f"background callbacks: {mode}; {args.clients} clients for {args.duration:.0f} s, "
              f"mix {args.mix}")  # fmt: skip
        template = template_values(web.url)
        samples: list[Sample] = []
        lock = threading.Lock()
        start = time.monotonic()
        deadline = start + args.duration
        clients = [Client(web.url, i, mix, template) for i in range(args.clients)]
        threads = [
            threading.Thread(target=c.run, args=(deadline, samples, lock), daemon=True)
            for c in clients
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=max(0.0, deadline - time.monotonic()) + EXPORT_DEADLINE_S + 30)
        elapsed = time.monotonic() - start
        stuck = sum(t.is_alive() for t in threads)
        errors = report(samples, elapsed)
        if stuck:
            print(f"{stuck} clients still waiting after the deadline")
        failed = bool(errors or stuck)
        return 1 if failed else 0
    finally:
        for service in reversed(services):
            service.stop()
        if failed:
            print(f"logs kept in {work / 'logs'}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
