"""The package as users get it: sdist and wheel built, installed into a fresh virtualenv.

The wheel must hold everything the dashboard, the command line and exports need, under
names of their own (no top-level ``app`` to collide with a user's module), and
``stabgraph serve`` from that install, started in another folder, must serve a styled page.
"""

from __future__ import annotations

import email
import re
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest
from services import ROOT, base_env, free_port
from test_serve import check_page, layout_source, start_serve

import stabgraph_core

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``python -m build``: the sdist, then the wheel built from that sdist."""
    out = tmp_path_factory.mktemp("dist")
    done = subprocess.run([sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)],
                          capture_output=True, text=True, timeout=600)  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return out


def wheel_of(dist: Path) -> Path:
    (wheel,) = dist.glob("stabgraph-*.whl")
    return wheel


def test_the_wheel_holds_the_dashboard_under_its_own_name(dist: Path) -> None:
    names = set(zipfile.ZipFile(wheel_of(dist)).namelist())
    tops = {name.split("/", 1)[0] for name in names}
    version = stabgraph_core.__version__
    assert tops == {"stabgraph_core", "stabgraph_app", f"stabgraph-{version}.dist-info"}
    for needed in (
        "stabgraph_app/__init__.py",
        "stabgraph_app/gunicorn_conf.py",
        "stabgraph_app/callbacks/figure.py",
        "stabgraph_app/assets/stabgraph.css",
        "stabgraph_core/serve.py",
        "stabgraph_core/_render.js",
        "stabgraph_core/_vendor/plotly-basic.min.js",
        "stabgraph_core/_vendor/plotly-LICENSE",
        f"stabgraph-{version}.dist-info/licenses/LICENSE",
    ):
        assert needed in names, needed
    # every module of the checkout is in the wheel (a new sub-package must be listed)
    repo = Path(__file__).resolve().parents[2]
    for folder, installed in (("stabgraph_core", "stabgraph_core"), ("app", "stabgraph_app")):
        for module in (repo / folder).rglob("*.py"):
            rel = module.relative_to(repo / folder).as_posix()
            assert f"{installed}/{rel}" in names, f"{folder}/{rel} is not in the wheel"
    assert not any("__pycache__" in name or name.endswith(".pyc") for name in names)


def test_the_wheel_says_what_it_needs_and_its_version(dist: Path) -> None:
    wheel = zipfile.ZipFile(wheel_of(dist))
    version = stabgraph_core.__version__
    meta = email.message_from_bytes(wheel.read(f"stabgraph-{version}.dist-info/METADATA"))
    assert meta["Version"] == version
    needs = {re.match(r"[A-Za-z0-9_.\-]+", r).group(0).lower()
             for r in meta.get_all("Requires-Dist")}  # fmt: skip
    for name in ("dash", "dash-ag-grid", "plotly", "kaleido", "cairosvg", "numpy", "gunicorn",
                 "tsdownsample", "orjson", "tensorboard", "crc32c", "diskcache"):  # fmt: skip
        assert name in needs, name
    celery = [r for r in meta.get_all("Requires-Dist") if r.startswith("celery")]
    assert celery and all("extra ==" in r for r in celery)  # an extra, not a must
    entry = wheel.read(f"stabgraph-{version}.dist-info/entry_points.txt").decode()
    assert "stabgraph = stabgraph_core.__main__:main" in entry


def test_the_sdist_holds_what_the_wheel_is_built_from(dist: Path) -> None:
    """``python -m build`` built the wheel above from this sdist, so both are checked."""
    (sdist,) = dist.glob("stabgraph-*.tar.gz")
    with tarfile.open(sdist) as archive:
        members = {m.split("/", 1)[1] for m in archive.getnames() if "/" in m}
    for needed in (
        "pyproject.toml",
        "README.md",
        "LICENSE",
        "CHANGELOG.md",
        "app/__init__.py",
        "assets/stabgraph.css",
        "stabgraph_core/_vendor/plotly-basic.min.js",
    ):
        assert needed in members, needed


@pytest.fixture(scope="module")
def installed(dist: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtualenv with the wheel and its dependencies installed by pip."""
    venv = tmp_path_factory.mktemp("fresh") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    done = subprocess.run(
        [str(venv / "bin/python"), "-m", "pip", "install", "--disable-pip-version-check",
         "-q", str(wheel_of(dist))],
        capture_output=True, text=True, timeout=900, env=base_env(),
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return venv


def test_the_installed_command_serves_a_styled_page_from_another_folder(
    installed: Path, tmp_path: Path
) -> None:
    runs = tmp_path / "runs" / "exp1"
    runs.mkdir(parents=True)
    (runs / "mamba_seq8192.jsonl").write_text(
        "".join(f'{{"step": {k}, "loss": {5 - 0.01 * k}}}\n' for k in range(40))
    )
    elsewhere = tmp_path / "work"
    elsewhere.mkdir()
    (elsewhere / "app.py").write_text("raise SystemExit('the wrong app was imported')\n")
    argv = [str(installed / "bin/stabgraph"), "serve", str(tmp_path / "runs"), "--port",
            str(free_port()), "--workers", "1"]  # fmt: skip
    service = start_serve(argv, elsewhere, tmp_path / "logs")
    try:
        check_page(service.url)
        value, options = layout_source(service.url)
        assert value == "folder:." and [o["label"] for o in options][-1] == "exp1"
    finally:
        service.stop()


def test_the_installed_package_exports_and_has_no_top_level_app(
    installed: Path, tmp_path: Path
) -> None:
    python = str(installed / "bin/python")
    probe = "import importlib.util as u, stabgraph_core; print(u.find_spec('app'), " \
            "stabgraph_core.__version__, stabgraph_core.__file__)"  # fmt: skip
    out = subprocess.run([python, "-c", probe], capture_output=True, text=True, timeout=60,
                         cwd=tmp_path, env=base_env(), check=True).stdout.split()  # fmt: skip
    assert out[0] == "None" and out[1] == stabgraph_core.__version__
    assert out[2].startswith(str(installed))  # the installed copy, not the checkout
    done = subprocess.run(
        [str(installed / "bin/stabgraph"), "--simulate", "--num_steps", "200", "--format",
         "svg", "--output", str(tmp_path / "fig")],
        capture_output=True, text=True, timeout=180, cwd=tmp_path, env=base_env(),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "fig.svg").read_text().lstrip().startswith(("<svg", "<?xml"))
    version = subprocess.run([str(installed / "bin/stabgraph"), "--version"],
                             capture_output=True, text=True, timeout=60)  # fmt: skip
    assert version.stdout.strip() == f"stabgraph {stabgraph_core.__version__}"
