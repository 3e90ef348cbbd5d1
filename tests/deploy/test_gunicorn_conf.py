"""gunicorn.conf.py: defaults for 2 cores, every knob from the environment, hooks per worker."""

from __future__ import annotations
import __future__

import runpy
import types
from typing import Any

import pytest
from gunicorn.config import Config
from services import ROOT

CONF = ROOT / "gunicorn.conf.py"
ENV_NAMES = ("WEB_CONCURRENCY", "GUNICORN_THREADS", "GUNICORN_TIMEOUT", "GUNICORN_BIND", "HOST",
             "PORT", "LOG_LEVEL")  # fmt: skip


def load(monkeypatch: pytest.MonkeyPatch, **env: str) -> dict[str, Any]:
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(CONF))


def test_defaults_suit_two_cores_and_long_exports(monkeypatch: pytest.MonkeyPatch) -> None:
    conf = load(monkeypatch)
    assert conf["bind"] == "127.0.0.1:8050"
    assert conf["workers"] == 2
    assert conf["worker_class"] == "gthread" and conf["threads"] == 4
    assert conf["timeout"] >= 120
    assert conf["accesslog"] == "-"
    assert conf["preload_app"] is False
    assert conf["reload"] is False


def test_environment_overrides_every_knob(monkeypatch: pytest.MonkeyPatch) -> None:
    conf = load(monkeypatch, WEB_CONCURRENCY="5", GUNICORN_THREADS="8", GUNICORN_TIMEOUT="300",
                HOST="0.0.0.0", PORT="9000", LOG_LEVEL="warning")  # fmt: skip
    assert (conf["workers"], conf["threads"], conf["timeout"]) == (5, 8, 300)
    assert conf["bind"] == "0.0.0.0:9000"
    assert conf["loglevel"] == "warning"
    assert load(monkeypatch, GUNICORN_BIND="unix:/tmp/sg.sock")["bind"] == "unix:/tmp/sg.sock"


def test_every_setting_is_one_gunicorn_knows(monkeypatch: pytest.MonkeyPatch) -> None:
    conf = load(monkeypatch)
    known = Config().settings
    ours = {
        name
        for name, value in conf.items()
        if not name.startswith("_")
        and not isinstance(value, types.ModuleType | type | __future__._Feature)
    }
    assert ours <= set(known), ours - set(known)
    cfg = Config()
    for name in ours:
        cfg.set(name, conf[name])  # gunicorn validates each value
    assert callable(cfg.post_worker_init) and callable(cfg.worker_exit)


def test_worker_hooks_start_and_stop_the_export_browser(monkeypatch: pytest.MonkeyPatch) -> None:
    from stabgraph_core import export

    calls: list[str] = []
    monkeypatch.setattr(export, "start_renderer", lambda *a, **k: calls.append("start"))
    monkeypatch.setattr(export, "stop_renderer", lambda *a, **k: calls.append("stop"))
    conf = load(monkeypatch)

    class Log:
        def info(self, *args: Any) -> None:
            calls.append("log")

        warning = info

    worker = type("Worker", (), {"log": Log(), "pid": 1})()
    conf["post_worker_init"](worker)
    conf["worker_exit"](None, worker)
    assert [c for c in calls if c != "log"] == ["start", "stop"]


def test_a_worker_whose_browser_fails_still_serves_but_reports_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from app import health
    from stabgraph_core import export
    from stabgraph_core.errors import ExportError

    def fail(*args: Any, **kwargs: Any) -> None:
        raise ExportError("no Chromium")

    monkeypatch.setattr(export, "start_renderer", fail)
    monkeypatch.setattr(health, "_renderer_started", None)
    warnings: list[tuple] = []
    log = type("Log", (), {"warning": lambda self, *a: warnings.append(a), "info": print})()
    load(monkeypatch)["post_worker_init"](type("Worker", (), {"log": log, "pid": 7})())
    assert warnings and "no Chromium" in str(warnings[0][-1])
    assert health.exporter_ready() is False
