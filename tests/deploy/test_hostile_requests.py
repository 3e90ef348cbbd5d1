"""The real server (the Dockerfile's gunicorn command, its own config) probed as a hostile
or careless user would: forged callback bodies, links planted in the results tree, files
that vanish, unknown bundle paths. Every answer is a message or a 4xx, never a 5xx, and the
log never gets a traceback.
"""

from __future__ import annotations

import base64
import json
import os
import re
import signal
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests
from dash_http import CallbackFailed, DashSession
from services import Service, base_env, free_port, start, start_gunicorn, wait_until

from app import ids

pytestmark = pytest.mark.slow

STORE = f"{ids.SOURCE_STORE}.data"
PICK = f"{ids.SOURCE}.value"
MISSING = object()  # the dependency is sent without a "value"
HUGE_TEXT = "x" * 100_000
# Wrong types, sizes and ranges for any input: none of them is what a control sends.
FORGED: list[Any] = [
    MISSING,
    None,
    "",
    "abc",
    HUGE_TEXT,
    -1,
    0,
    2.5,
    10**30,
    float("nan"),
    True,
    [],
    ["x"] * 2000,
    [[[[[[[[[[1]]]]]]]]]],
    [8192, "none"],
    {},
    {"kind": "folder", "folder": "../../etc", "xaxis.range": [1]},
]
HEADERS = ("Content-Security-Policy", "X-Content-Type-Options", "X-Frame-Options",
           "Referrer-Policy")  # fmt: skip


def _run_file(path: Path, loss: list[float], seq_len: int = 8192) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    steps = list(range(len(loss)))
    path.write_text(json.dumps({"seq_len": seq_len, "steps": steps, "loss": loss}))


@pytest.fixture(scope="module")
def hostile_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """tmp/
    ├── outside/mamba_seq8192.json     a log outside the root, loss 777 at every step
    └── results/
        ├── demo/                      mamba at 8k (loss 2k) and 32k (loss 2k + 1)
        ├── planted/
        │   ├── resnetbk_seq8192.json  loss 2k + 1
        │   ├── passwd -> /etc/passwd
        │   ├── mamba_seq8192.json -> ../../outside/mamba_seq8192.json
        │   ├── gone.json -> missing.json   (dangling)
        │   └── fifo                         (a named pipe)
        └── churn/                     files appear and vanish while requests come in
    """
    base = tmp_path_factory.mktemp("hostile")
    root = base / "results"
    for run, seq_len in enumerate((8192, 32768)):
        _run_file(root / "demo" / f"mamba_seq{seq_len}.json", [2 * k + run for k in range(50)],
                  seq_len)  # fmt: skip
    _run_file(base / "outside" / "mamba_seq8192.json", [777.0] * 50)
    planted = root / "planted"
    _run_file(planted / "resnetbk_seq8192.json", [2 * k + 1 for k in range(50)])
    os.symlink("/etc/passwd", planted / "passwd")
    os.symlink("../../outside/mamba_seq8192.json", planted / "mamba_seq8192.json")
    os.symlink("missing.json", planted / "gone.json")
    os.mkfifo(planted / "fifo")
    _run_file(root / "churn" / "resnetbk_seq8192.json", [2 * k + 1 for k in range(50)])
    return root


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, hostile_root: Path) -> Iterator[Service]:
    work = tmp_path_factory.mktemp("hostile-server")
    env = base_env(STABGRAPH_RESULTS_ROOT=str(hostile_root),
                   STABGRAPH_CACHE_DIR=str(work / "cache"))  # fmt: skip
    service = start_gunicorn(env, work / "logs")
    try:
        yield service
    finally:
        service.stop()


@pytest.fixture
def session(server: Service) -> Iterator[DashSession]:
    page = DashSession(server.url, timeout=60)
    page.load_page()
    try:
        yield page
    finally:
        page.close()


def _load(session: DashSession, folder: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Pick ``folder`` as the page does: the load's props and the page's values after it."""
    values = session.initial_values()
    values[PICK] = f"folder:{folder}"
    result = session.call(session.find(STORE), values, changed=[PICK], poll_interval=0.05)
    for component, props in result.props.items():
        for prop, value in props.items():
            values[f"{component}.{prop.split('@')[0]}"] = value
    return result.props, values


def _tracebacks(service: Service) -> list[str]:
    return re.findall(r"^Traceback.*$|^\S+Error: .*$", service.log.read_text(errors="replace"),
                      re.M)  # fmt: skip


# ---- the results root is a boundary ------------------------------------------------------------


def test_links_out_of_the_root_are_refused_with_one_line_each(
    server: Service, session: DashSession
) -> None:
    props, values = _load(session, "planted")
    errors = [li["props"]["children"] for li in props[ids.LOAD_ERRORS]["children"]]
    assert sorted(errors) == [
        "fifo: not a regular file; not read",
        "gone.json: a link to a file that does not exist",
        "mamba_seq8192.json: links outside the results root; not read",
        "passwd: links outside the results root; not read",
    ]
    assert "root:" not in json.dumps(props), "a line of /etc/passwd reached the page"
    assert props[ids.SOURCE_STATUS]["children"].startswith("1 run · 1 model · 1 length")
    # the table and the CSV download hold the one run inside the root, nothing of the other
    rows = session.call(session.find(f"{ids.TABLE}.rowData"), values, changed=[STORE])
    assert [r["run"] for r in rows.props[ids.TABLE]["rowData"]] == ["ResNet-BK 8k"]
    values[f"{ids.EXPORT_FORMAT}.value"] = "csv"
    export = session.find(f"{ids.DOWNLOAD}.data")
    done = session.call(export, values, changed=[f"{ids.EXPORT_BUTTON}.n_clicks"],
                        poll_interval=0.05)  # fmt: skip
    csv = base64.b64decode(done.props[ids.DOWNLOAD]["data"]["content"]).decode()
    assert csv.splitlines()[0] == "model,seq_len,seed,label,step,loss"
    assert "777" not in csv and {line.split(",")[0] for line in csv.splitlines()[1:]} == {
        "resnetbk"
    }


def test_every_callback_of_a_folder_with_a_dangling_link_answers(session: DashSession) -> None:
    """A dangling link (or a pipe) in the folder made every callback of it answer 500."""
    _props, values = _load(session, "planted")
    snapshot = values[STORE].pop("snapshot")
    assert values[STORE] == {"kind": "folder", "folder": "planted"}
    assert re.fullmatch(r"[0-9a-f]{64}", snapshot), "the store names the folder's snapshot"
    values[STORE]["snapshot"] = snapshot
    values[f"{ids.EXPORT_FORMAT}.value"] = "json"
    takes_the_store = [
        spec
        for spec in session.callbacks
        if any(f"{d['id']}.{d['property']}" == STORE for d in [*spec["inputs"], *spec["state"]])
    ]
    assert len(takes_the_store) >= 4  # chart, table, zoom, download
    for spec in takes_the_store:
        first = spec["inputs"][0]
        values[f"{ids.GRAPH}.relayoutData"] = {"xaxis.range[0]": 5, "xaxis.range[1]": 20}
        result = session.call(spec, values, changed=[f"{first['id']}.{first['property']}"],
                              poll_interval=0.05)  # fmt: skip
        assert result.status in (200, 204), spec["output"]


def test_files_that_vanish_while_requests_come_in_are_simply_left_out(
    server: Service, session: DashSession, hostile_root: Path
) -> None:
    """Log rotation: files (and links to them) appear and vanish between listing and reading."""
    churn = hostile_root / "churn"
    stop = threading.Event()

    def rotate() -> None:
        n = 0
        while not stop.is_set():
            log = churn / f"mamba_seq{1024 * (1 + n % 4)}.json"
            _run_file(log, [float(n)] * 20, 1024 * (1 + n % 4))
            link = churn / f"link{n % 3}.json"
            link.unlink(missing_ok=True)
            os.symlink(log.name, link)
            log.unlink()  # the link dangles until the next turn
            n += 1

    _props, values = _load(session, "churn")
    rotator = threading.Thread(target=rotate, daemon=True)
    rotator.start()
    statuses = []
    try:
        draw, table = session.find(f"{ids.GRAPH}.figure"), session.find(f"{ids.TABLE}.rowData")
        deadline = time.monotonic() + 4
        while time.monotonic() < deadline:
            for spec in (draw, table):
                session.http.close()  # a new connection each time: both workers answer
                statuses.append(session.call(spec, values, changed=[STORE]).status)
    finally:
        stop.set()
        rotator.join(5)
    assert len(statuses) >= 10 and set(statuses) <= {200, 204}
    assert _tracebacks(server) == []


# ---- forged callback bodies ----------------------------------------------------------------


def _fuzz_one(base_url: str, spec: dict, values: dict, dep_key: str) -> list[tuple[str, Any, int]]:
    """Every forged value in turn at ``dep_key`` of ``spec``: (dep, value, status) of each."""
    page = DashSession(base_url, timeout=60)
    page.load_page()
    first = spec["inputs"][0]
    inputs = {f"{d['id']}.{d['property']}" for d in spec["inputs"]}
    changed = [dep_key if dep_key in inputs else f"{first['id']}.{first['property']}"]
    out = []
    try:
        for forged in FORGED:
            sent = dict(values)
            if forged is MISSING:
                sent.pop(dep_key, None)
            else:
                sent[dep_key] = forged
            try:
                status = page.call(spec, sent, changed=changed, poll_interval=0.02).status
            except CallbackFailed as err:
                status = int(str(err).split(" ", 1)[0])
            out.append((dep_key, "MISSING" if forged is MISSING else repr(forged)[:40], status))
    finally:
        page.close()
    return out


def test_forged_values_for_every_input_of_every_callback_get_no_5xx(
    server: Service, session: DashSession
) -> None:
    """Wrong-typed, huge and missing values, one input at a time, for every callback that
    ``/_dash-dependencies`` lists: each is answered 200 (with the page's message) or 204."""
    _props, values = _load(session, "demo")
    drawn = session.call(session.find(f"{ids.GRAPH}.figure"), values, changed=[STORE])
    values[f"{ids.TRACE_MAP}.data"] = drawn.props[ids.TRACE_MAP]["data"]
    values[f"{ids.GRAPH}.relayoutData"] = {"xaxis.range[0]": 5, "xaxis.range[1]": 20}
    values[f"{ids.TABLE}.selectedRows"] = [{"run_id": values[f"{ids.TRACE_MAP}.data"][0]["run_id"]}]
    values[f"{ids.EXPORT_FORMAT}.value"] = "json"  # a good value exports without Chromium
    values[f"{ids.URL}.href"] = server.url + "/"
    jobs = [
        (spec, f"{d['id']}.{d['property']}")
        for spec in session.callbacks
        if not spec.get("clientside_function")  # run in the page: the server has none
        for d in [*spec["inputs"], *spec["state"]]
    ]
    assert len(session.callbacks) >= 10 and len(jobs) >= 60
    with ThreadPoolExecutor(4) as pool:
        results = [r for batch in pool.map(lambda job: _fuzz_one(server.url, job[0], values,
                   job[1]), jobs) for r in batch]  # fmt: skip
    assert len(results) == len(jobs) * len(FORGED)
    failed = [r for r in results if r[2] not in (200, 204)]
    assert failed == []
    assert _tracebacks(server) == []


def test_a_forged_value_is_answered_with_the_pages_message(session: DashSession) -> None:
    _props, values = _load(session, "demo")
    draw = session.find(f"{ids.GRAPH}.figure")
    for prop, forged in ((f"{ids.SMOOTHING}.value", "abc"), (f"{ids.X_AXIS}.value", ["steps"]),
                         (STORE, {"kind": "simulated", "lengths": 5})):  # fmt: skip
        result = session.call(draw, values | {prop: forged}, changed=[prop])
        (note,) = result.props[ids.GRAPH]["figure"]["layout"]["annotations"]
        assert "must be" in note["text"] and "\n" not in note["text"]
    zoom = next(s for s in session.callbacks if s["inputs"][0]["property"] == "relayoutData")
    answer = session.post_raw({
        "output": zoom["output"],
        "outputs": {"id": ids.GRAPH, "property": zoom["output"].split(".", 1)[1]},
        "inputs": [{"id": ids.GRAPH, "property": "relayoutData", "value": {"xaxis.range": [1]}}],
        "state": [{"id": d["id"], "property": d["property"], "value": None}
                  for d in zoom["state"]],
        "changedPropIds": [f"{ids.GRAPH}.relayoutData"],
    })  # fmt: skip
    assert answer.status_code == 200
    message = answer.json()["sideUpdate"][ids.PAGE_MESSAGE]["children"]
    assert message == "the chart's x-range must be two numbers, got [1]"


def test_a_deep_link_with_a_number_past_64_bits_still_sets_the_rest(session: DashSession) -> None:
    """orjson refuses such an integer: echoed into the Steps input it failed the whole sync."""
    sync = session.find(f"{ids.URL}.search")
    search = "?steps=99999999999999999999999&scale=log&lengths=8192,none"
    values = session.initial_values()
    values[f"{ids.URL}.search"] = search
    values[f"{ids.URL}.href"] = session.base_url + "/" + search
    result = session.call(sync, values, changed=[f"{ids.URL}.search"])
    assert result.status == 200
    assert result.props[ids.SIM_STEPS]["value"] == 1000  # the default: the value is ignored
    assert result.props[ids.LOG_Y]["value"] == "log"


@pytest.mark.parametrize(
    "body",
    [
        None,
        [],
        "text",
        {},
        {"output": "nope.children"},
        {"output": "table.rowData", "inputs": "x"},
        {
            "output": "table.rowData",
            "outputs": {"id": "table", "property": "rowData"},
            "inputs": [],
            "changedPropIds": [],
        },  # fmt: skip
        {
            "output": "table.rowData",
            "outputs": {"id": "table", "property": "rowData"},
            "inputs": [{"id": "x", "property": "y"}] * 4,
            "changedPropIds": [],
        },  # fmt: skip
    ],
)
def test_a_body_that_is_no_callback_of_the_page_is_a_400(
    server: Service, session: DashSession, body: Any
) -> None:
    answer = session.post_raw(body)
    assert answer.status_code == 400
    assert answer.json()["message"].startswith("bad callback request: ")


def test_a_body_over_the_limit_is_refused(session: DashSession) -> None:
    answer = session.post_raw({"output": "table.rowData", "junk": "x" * (9 * 1024 * 1024)})
    assert answer.status_code == 413


# ---- headers, unknown bundles ----------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/_dash-component-suites/dash/_callback.py",
        "/_dash-component-suites/dash/..%2f_callback.py",
        "/_dash-component-suites/dash/..%2F..%2Fdash%2F_callback.py",
        "/_dash-component-suites/dash_ag_grid/..%2f..%2fsetup.py",
        "/_dash-component-suites/nope/x.js",
        "/_dash-component-suites/plotly/package_data/../__init__.py",
    ],
)
def test_an_unknown_bundle_path_is_a_quiet_404(server: Service, path: str) -> None:
    before = len(server.log.read_text(errors="replace"))
    answer = requests.get(server.url + path, timeout=10)
    assert answer.status_code == 404
    time.sleep(0.2)  # the access log line is written after the answer
    added = server.log.read_text(errors="replace")[before:]
    assert "Traceback" not in added and len(added) < 400


def test_every_response_carries_the_security_headers(server: Service, session: DashSession) -> None:
    page = requests.get(server.url + "/", timeout=10)
    bundle = re.search(r'src="(/_dash-component-suites/[^"]+)"', page.text).group(1)
    css = re.search(r'href="(/assets/[^"]+)"', page.text).group(1)
    answers = {
        "page": page,
        "bundle": requests.get(server.url + bundle, timeout=10),
        "asset": requests.get(server.url + css, timeout=10),
        "layout": requests.get(server.url + "/_dash-layout", timeout=10),
        "healthz": requests.get(server.url + "/healthz", timeout=10),
        "404": requests.get(server.url + "/_dash-component-suites/dash/x.py", timeout=10),
        "400": session.post_raw([]),
        "callback": session.post_raw({}),
    }
    for name, answer in answers.items():
        missing = [h for h in HEADERS if h not in answer.headers]
        assert missing == [], name
    csp = page.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'self' 'sha256-" in csp
    assert "unsafe-eval" not in csp and "'unsafe-inline'" not in csp.split("style-src")[0]
    assert page.headers["X-Frame-Options"] == "DENY"
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert page.headers["Referrer-Policy"] == "no-referrer"


# ---- python -m app --results_root ------------------------------------------------------------


def test_healthz_and_the_page_agree_under_the_results_root_flag(
    tmp_path: Path, hostile_root: Path
) -> None:
    """The README's ``python -m app --results_root DIR``, with no STABGRAPH_RESULTS_ROOT."""
    port = free_port()
    env = base_env(STABGRAPH_CACHE_DIR=str(tmp_path / "cache"))
    argv = [str(Path(env["PATH"].split(os.pathsep)[0]) / "python"), "-m", "app",
            "--results_root", str(hostile_root), "--host", "127.0.0.1",
            "--port", str(port)]  # fmt: skip
    service = start("python-m-app", argv, env=env, log_dir=tmp_path / "logs")
    service.url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: requests.get(service.url + "/healthz", timeout=2).ok, timeout=60,
                   what="/healthz", service=service)  # fmt: skip
        health = requests.get(service.url + "/healthz", timeout=10).json()
        assert health["results_root_readable"] is True
        layout = requests.get(service.url + "/_dash-layout", timeout=10).text
        assert '"folder:demo"' in layout and '"folder:planted"' in layout
    finally:
        service.stop()


def test_the_dev_server_stopped_by_sigterm_leaves_no_chromium_behind(
    tmp_path: Path, hostile_root: Path
) -> None:
    """``python -m app`` after an export, stopped as ``docker stop`` or a supervisor would."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    port = free_port()
    env = base_env(STABGRAPH_RESULTS_ROOT=str(hostile_root), TMPDIR=str(tmp),
                   STABGRAPH_CACHE_DIR=str(tmp_path / "cache"))  # fmt: skip
    argv = [str(Path(env["PATH"].split(os.pathsep)[0]) / "python"), "-m", "app",
            "--host", "127.0.0.1", "--port", str(port)]  # fmt: skip
    service = start("python-m-app", argv, env=env, log_dir=tmp_path / "logs")
    service.url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: requests.get(service.url + "/healthz", timeout=2).ok, timeout=60,
                   what="/healthz", service=service)  # fmt: skip
        page = DashSession(service.url, timeout=60)
        page.load_page()
        _props, values = _load(page, "demo")
        values[f"{ids.EXPORT_FORMAT}.value"] = "svg"
        done = page.call(page.find(f"{ids.DOWNLOAD}.data"), values,
                         changed=[f"{ids.EXPORT_BUTTON}.n_clicks"], poll_interval=0.05)  # fmt: skip
        page.close()
        assert done.props[ids.DOWNLOAD]["data"]["filename"] == "stabgraph_mamba_8k-32k.svg"
        assert list(tmp.iterdir()), "Chromium keeps its profile here while it runs"
        service.process.send_signal(signal.SIGTERM)
        assert service.process.wait(30) == 128 + signal.SIGTERM
    finally:
        service.stop()
    assert [p.name for p in tmp.iterdir()] == []


def test_a_request_for_a_browser_side_callback_is_a_one_line_400(session: DashSession) -> None:
    (spec,) = [s for s in session.callbacks if s.get("clientside_function")]
    answer = session.post_raw({
        "output": spec["output"],
        "outputs": {"id": ids.GRAPH, "property": "className"},
        "inputs": [{"id": ids.GRAPH, "property": "relayoutData",
                    "value": {"xaxis.autorange": True}}],
        "changedPropIds": [f"{ids.GRAPH}.relayoutData"],
    })  # fmt: skip
    assert answer.status_code == 400
    assert answer.json()["message"] == "bad callback request: that callback runs in the browser"
