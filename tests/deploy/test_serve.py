"""``stabgraph serve [ROOT]``: the dashboard on gunicorn, started as a researcher starts it."""

from __future__ import annotations

import json
import re
import socket
import subprocess
from pathlib import Path

import pytest
import requests
from services import VENV_BIN, Service, base_env, free_port, start, wait_until

from stabgraph_core import serve
from stabgraph_core.errors import StabgraphError

STABGRAPH = VENV_BIN / "stabgraph"


def args(*argv: str):
    return serve.build_parser().parse_args(list(argv))


# ---- the command it runs ------------------------------------------------------------------


def test_a_folder_is_served_on_gunicorn_with_every_run_under_it_first(tmp_path: Path) -> None:
    cmd, env, note = serve.server_command(args(str(tmp_path), "--port", str(free_port())))
    assert cmd[1:] == ["-m", "gunicorn", "-c", "python:stabgraph_app.gunicorn_conf",
                       "stabgraph_app:server"]  # fmt: skip
    assert note is None
    assert env["STABGRAPH_RESULTS_ROOT"] == str(tmp_path.resolve())
    assert env["STABGRAPH_DEFAULT_SOURCE"] == "folder:."
    assert env["ACCESS_LOG"] == "off"


def test_flags_reach_the_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GUNICORN_BIND", "unix:/tmp/elsewhere.sock")  # --host/--port win
    port = free_port()
    _, env, _ = serve.server_command(
        args(
            str(tmp_path),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "3",
            "--access-log",
        )  # fmt: skip
    )
    assert (env["HOST"], env["PORT"], env["WEB_CONCURRENCY"]) == ("127.0.0.1", str(port), "3")
    assert env["ACCESS_LOG"] == "-" and "GUNICORN_BIND" not in env
    _, env, _ = serve.server_command(args(str(tmp_path), "--port", str(port), "--poll", "0.5"))
    assert env["STABGRAPH_POLL_S"] == "0.5"


def test_without_a_folder_only_simulated_runs_are_offered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("STABGRAPH_RESULTS_ROOT", raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "results" / "old").mkdir(parents=True)  # a ./results beside the user
    (tmp_path / "results" / "old" / "x.jsonl").write_text('{"step": 1, "loss": 2}\n')
    _, env, _ = serve.server_command(args("--port", str(free_port())))
    assert env["STABGRAPH_DEFAULT_SOURCE"] == "simulated"
    assert not Path(env["STABGRAPH_RESULTS_ROOT"]).is_dir()


def test_the_development_server_where_gunicorn_cannot_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(serve, "has_gunicorn", lambda: False)
    cmd, _, note = serve.server_command(args(str(tmp_path), "--port", str(free_port())))
    assert cmd[1:3] == ["-m", "stabgraph_app"]
    assert note and "development server" in note


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("/no/such/folder",), "/no/such/folder: does not exist"),
        (("--port", "0"), "--port 0: not a port number"),
        (("--port", "70000"), "--port 70000: not a port number"),
        (("--workers", "0"), "--workers 0: at least one worker"),
        (("--poll", "-1"), "--poll -1.0: seconds, 0 or more"),
    ],
)
def test_bad_arguments_are_one_line(argv: tuple[str, ...], message: str) -> None:
    with pytest.raises(StabgraphError, match=re.escape(message)):
        serve.server_command(args(*argv))


def test_a_file_is_not_a_folder(tmp_path: Path) -> None:
    log = tmp_path / "train.log"
    log.write_text("step 1 loss 2.0\n")
    with pytest.raises(StabgraphError, match="train.log: is not a folder"):
        serve.server_command(args(str(log)))


def test_a_port_in_use_is_named(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(StabgraphError, match=f"cannot listen on 127.0.0.1:{port}.*--port"):
            serve.server_command(args(str(tmp_path), "--port", str(port)))


def test_shown_url() -> None:
    assert serve.shown_url("127.0.0.1", 8050) == "http://127.0.0.1:8050/"
    assert serve.shown_url("0.0.0.0", 9000) == "http://localhost:9000/"
    assert serve.shown_url("::1", 80) == "http://[::1]:80/"


def test_the_command_says_what_is_wrong_without_a_traceback(tmp_path: Path) -> None:
    done = subprocess.run([str(STABGRAPH), "serve", str(tmp_path / "nope")], capture_output=True,
                          text=True, timeout=60, env=base_env())  # fmt: skip
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        f"stabgraph serve: error: {tmp_path / 'nope'}: does not exist"
    ]
    assert "Traceback" not in done.stderr


def test_help_lists_serve_and_its_flags() -> None:
    top = subprocess.run([str(STABGRAPH), "--help"], capture_output=True, text=True, timeout=60)
    assert "stabgraph serve [ROOT]" in top.stdout
    sub = subprocess.run([str(STABGRAPH), "serve", "--help"], capture_output=True, text=True,
                         timeout=60)  # fmt: skip
    for flag in ("ROOT", "--host", "--port", "--workers"):
        assert flag in sub.stdout


# ---- served for real ----------------------------------------------------------------------


def start_serve(argv: list[str], cwd: Path, log_dir: Path, *, timeout: float = 90.0) -> Service:
    """``argv`` (a ``stabgraph serve`` command) in ``cwd``, once it prints the URL to open."""
    service = start("serve", argv, env=base_env(), log_dir=log_dir, cwd=cwd)

    def printed() -> bool:
        found = re.search(r"stabgraph serve: open (http://\S+)", service.tail(400))
        if found:
            service.url = found.group(1).rstrip("/")
        return bool(found)

    try:
        wait_until(printed, timeout=timeout, what="the URL to open", service=service)
    except BaseException:
        service.stop()
        raise
    return service


def layout_source(url: str) -> tuple[str, list[dict]]:
    """The Source dropdown's value and options in the page's layout."""
    layout = requests.get(url + "/_dash-layout", timeout=30).json()
    found: list[dict] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if node.get("props", {}).get("id") == "source":
                found.append(node["props"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(layout)
    (props,) = found
    return props["value"], props["options"]


def check_page(url: str) -> None:
    """The page, its stylesheet and one of Dash's component bundles answer as a browser asks."""
    page = requests.get(url + "/", timeout=30)
    assert page.status_code == 200 and "<title>stabgraph</title>" in page.text
    css = re.search(r'href="(/assets/stabgraph\.css[^"]*)"', page.text)
    assert css, "the page links no stylesheet"
    sheet = requests.get(url + css.group(1), timeout=30)
    assert sheet.status_code == 200 and ".panel" in sheet.text
    bundles = re.findall(r'src="(/_dash-component-suites/[^"]+)"', page.text)
    assert bundles
    for bundle in bundles:
        assert requests.get(url + bundle, timeout=30).status_code == 200, bundle


@pytest.fixture
def logs(tmp_path: Path) -> Path:
    """A TensorBoard-style folder: ``runs/<experiment>/<file>``, and a stray file at the top."""
    root = tmp_path / "runs"
    for model in ("mamba", "resnetbk"):
        (root / model).mkdir(parents=True)
        lines = [json.dumps({"step": k, "loss": 5.0 - 0.01 * k}) for k in range(50)]
        (root / model / f"{model}_seq8192.jsonl").write_text("\n".join(lines) + "\n")
    return root


@pytest.mark.slow
def test_serve_a_folder_from_another_folder(logs: Path, tmp_path: Path) -> None:
    """Started elsewhere, beside a user's own ``app.py``: that module must not be served."""
    elsewhere = tmp_path / "notebooks"
    elsewhere.mkdir()
    (elsewhere / "app.py").write_text("raise SystemExit('the wrong app was imported')\n")
    port = free_port()
    argv = [str(STABGRAPH), "serve", str(logs), "--port", str(port), "--workers", "1"]
    service = start_serve(argv, elsewhere, tmp_path / "logs")
    try:
        assert service.url == f"http://127.0.0.1:{port}"
        check_page(service.url)
        value, options = layout_source(service.url)
        assert value == "folder:."
        labels = [o["label"] for o in options]
        assert labels == ["Simulated runs", "All runs in runs/", "mamba", "resnetbk"]
        health = requests.get(service.url + "/healthz", timeout=10).json()
        assert health["results_root_readable"] is True
        assert "gunicorn" in service.tail(400)  # the production server, not Flask's
        assert "development server" not in service.tail(400)
    finally:
        code = service.stop()
    assert code == 0, service.tail()
    with socket.socket() as probe:  # nothing of it is left listening
        assert probe.connect_ex(("127.0.0.1", port)) != 0


@pytest.mark.slow
def test_serve_without_a_folder_opens_simulated_runs(tmp_path: Path) -> None:
    service = start_serve([str(STABGRAPH), "serve", "--port", str(free_port()), "--workers",
                           "1"], tmp_path, tmp_path / "logs")  # fmt: skip
    try:
        value, options = layout_source(service.url)
        assert value == "simulated" and [o["value"] for o in options] == ["simulated"]
    finally:
        service.stop()
