"""Browser fixtures: the app in a subprocess on a free loopback port, headless system Chromium.

The results root the server sees is built here (drawn below); each test gets a fresh page
at 1366x768 that records console errors and leaves a screenshot in ``artifacts/`` on failure.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))  # scripts/ is a plain folder: import app_session
from app_session import CHROMIUM, AppDidNotStart, launch_chromium, start_app, stop_app  # noqa: E402
from sweep_data import write_sweep  # noqa: E402

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
VIEWPORT = {"width": 1366, "height": 768}
START_TIMEOUT_S = 60


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if Path(str(item.fspath)).parent == Path(__file__).parent:
            item.add_marker(pytest.mark.browser)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        item.stash.setdefault("failed", False)
        item.stash["failed"] = report.failed


def _write_json(path: Path, payload: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload))


def build_results_root(root: Path) -> Path:
    """results/
    ├── diverged/   resnetbk_seq8192.json (healthy decay),
    │               mamba_seq8192.json (explodes from step 300: x1.03 per step, NaN at 350)
    ├── broken/     resnetbk_seq8192.json (healthy), bad.json (truncated JSON)
    └── sweep/      2 models x 2 lengths x 3 seeds of JSONL logs, Mamba 32k seed 2 diverging
                    (``tests/sweep_data.py``)
    """
    steps = list(range(500))
    healthy = [4.0 * 0.995**k + 0.5 for k in steps]
    exploding = [v if k < 300 else v * 1.03 ** (k - 300) for k, v in enumerate(healthy)]
    exploding[350] = None
    run = {"seq_len": 8192, "steps": steps}
    _write_json(root / "diverged" / "resnetbk_seq8192.json", run | {"loss": healthy})
    _write_json(
        root / "diverged" / "mamba_seq8192.json",
        run | {"loss": [v if v is not None else float("nan") for v in exploding]},
    )
    _write_json(root / "broken" / "resnetbk_seq8192.json", run | {"loss": healthy})
    (root / "broken" / "bad.json").write_text('{"seq_len": 8192, "steps": [0, 1, 2')
    write_sweep(root)
    return root


@pytest.fixture(scope="session")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL of ``python -m app`` serving a results root built for these tests."""
    base = tmp_path_factory.mktemp("browser")
    results = build_results_root(base / "results")
    env = os.environ | {
        "STABGRAPH_RESULTS_ROOT": str(results),
        "STABGRAPH_CACHE_DIR": str(base / "cache"),
    }
    env.pop("STABGRAPH_REDIS_URL", None)
    log = (base / "server.log").open("w")
    try:
        proc, url = start_app(env, output=log, timeout_s=START_TIMEOUT_S)
    except AppDidNotStart:
        pytest.fail(f"app did not start: {(base / 'server.log').read_text()[-2000:]}")
    yield url
    stop_app(proc)
    log.close()


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """Headless system Chromium (never a downloaded build)."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = launch_chromium(pw)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, request: pytest.FixtureRequest) -> Iterator[object]:
    """A fresh page at 1366x768; ``page.console_errors`` lists console and page errors."""
    context = browser.new_context(viewport=VIEWPORT, accept_downloads=True)
    pg = context.new_page()
    pg.set_default_timeout(20_000)
    errors: list[str] = []
    pg.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.console_errors = errors
    yield pg
    if request.node.stash.get("failed", False):
        ARTIFACTS.mkdir(exist_ok=True)
        pg.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()
