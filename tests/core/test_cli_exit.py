"""However the command ends, it says one line and leaves no Chromium and no folder behind.

The command launches Chromium first thing (for its figure), so a usage error or a missing
folder ends the command while Chromium is still starting. Each case runs with its own empty
temp directory, which must be empty again afterwards, with no Chromium left running.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from stabgraph_core import export
from stabgraph_core.errors import ExportError

TIMEOUT_S = 60


@pytest.fixture(autouse=True)
def _needs_chromium() -> None:
    try:
        export.browser_path()
    except ExportError:
        pytest.skip("Chromium is not installed")


def _run(argv: list[str], tmp: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TMPDIR": str(tmp)}
    return subprocess.run(
        [sys.executable, "-m", "stabgraph_core", *argv],
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
    )


def _chromium_using(tmp: Path) -> list[int]:
    """Processes whose command line names ``tmp`` (Chromium's --user-data-dir is in it)."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            cmdline = Path("/proc", pid, "cmdline").read_bytes()
        except OSError:
            continue
        if str(tmp).encode() in cmdline and b"chrom" in cmdline:
            found.append(int(pid))
    return found


def _not_usage(stderr: str) -> list[str]:
    """The lines of stderr that are not argparse's usage text."""
    lines = stderr.splitlines()
    while lines and (lines[0].startswith("usage:") or lines[0].startswith(" ")):
        lines.pop(0)
    return lines


@pytest.mark.parametrize("attempt", range(6))
def test_a_bad_flag_gives_the_usage_error_and_leaves_nothing(tmp_path: Path, attempt: int):
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    proc = _run(["--bogus"], tmp)
    assert proc.returncode == 2
    assert _not_usage(proc.stderr) == ["stabgraph: error: unrecognized arguments: --bogus"]
    assert list(tmp.iterdir()) == [], "a Chromium profile folder was left behind"
    assert _chromium_using(tmp) == []


@pytest.mark.parametrize(
    ("argv", "code", "line"),
    [
        (["--num_steps", "many"], 2, "stabgraph: error: argument --num_steps: invalid int"),
        (["--format", "tiff"], 2, "stabgraph: error: argument --format: invalid choice"),
        (["--results_dir", "/nonexistent/folder"], 1, "stabgraph: error: results folder not found"),
        (["--simulate", "--num_steps", "0"], 1, "stabgraph: error: "),
    ],
)
def test_every_early_exit_is_one_line_and_leaves_nothing(
    tmp_path: Path, argv: list[str], code: int, line: str
):
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    proc = _run([*argv, "--output", str(tmp_path / "out" / "fig")], tmp)
    assert proc.returncode == code, proc.stderr
    (said,) = _not_usage(proc.stderr)
    assert said.startswith(line)
    assert "Traceback" not in proc.stderr
    assert list(tmp.iterdir()) == []
    assert _chromium_using(tmp) == []


def test_a_finished_command_leaves_nothing_either(tmp_path: Path):
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    out = tmp_path / "out" / "fig"
    proc = _run(["--simulate", "--num_steps", "50", "--format", "svg", "--output", str(out)], tmp)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "out" / "fig.svg").is_file()
    assert list(tmp.iterdir()) == []
    assert _chromium_using(tmp) == []


def test_stopping_a_start_in_progress_stops_chromium_and_removes_its_folders(tmp_path: Path):
    """What the command does on an early exit, in one process: stop while Chromium starts."""
    code = (
        "import time\n"
        "from stabgraph_core import export\n"
        "export.start_renderer()\n"  # returns once Chromium is launched, still starting
        "export.stop_renderer(quick=True)\n"
        "assert export._state['renderer'] is None\n"
        "export.start_renderer(wait=True)\n"  # a stop does not get in the way of a new start
        "assert export._state['renderer'] is not None\n"
    )
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    proc = subprocess.run([sys.executable, "-c", code], env={**os.environ, "TMPDIR": str(tmp)},
                          capture_output=True, text=True, timeout=TIMEOUT_S)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert list(tmp.iterdir()) == []
    assert _chromium_using(tmp) == []
