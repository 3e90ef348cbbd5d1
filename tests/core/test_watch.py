"""``stabgraph watch``: one line per new divergence, NaN or spike as logs grow; exit 3."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from stabgraph_core.loaders import load_results
from stabgraph_core.watch import EXIT_DIVERGED, Watcher, run_watch

STABGRAPH = Path(sys.executable).parent / "stabgraph"
REAL = Path(os.environ.get("STABGRAPH_SHARED", Path(__file__).resolve().parents[3] / "shared"))
BIGSCIENCE = REAL / "data" / "real" / "bigscience"


def lines(start: int, stop: int, loss) -> str:
    return "".join(json.dumps({"step": k, "loss": loss(k)}) + "\n" for k in range(start, stop))


def healthy(k: int) -> float:
    return 4.0 * 0.99**k + 1.0


def exploding(k: int) -> float:
    return healthy(300) * 1.08 ** (k - 300)


def test_each_event_is_reported_once_as_the_log_grows(tmp_path: Path) -> None:
    log = tmp_path / "mamba_seq8192.jsonl"
    log.write_text(lines(0, 300, healthy))
    watcher = Watcher(tmp_path, load_results)
    assert watcher.look() == ([], False)
    assert watcher.look() == ([], False)  # nothing changed: nothing read, nothing said
    with log.open("a") as out:
        out.write(lines(300, 330, exploding))
        out.write('{"step": 330, "lo')  # still being written: no event from it
    news, diverged = watcher.look()
    assert diverged and len(news) == 1
    assert "Mamba 8k (mamba_seq8192.jsonl): DIVERGED at step 30" in news[0]
    with log.open("a") as out:
        out.write('ss": NaN}\n')
        out.write(lines(331, 340, exploding))
    news, diverged = watcher.look()
    assert not diverged  # said once
    assert news and all("NaN/Inf loss at step 330" in line for line in news)
    assert watcher.look() == ([], False)


def test_a_missing_value_or_a_torn_line_is_no_event(tmp_path: Path) -> None:
    log = tmp_path / "run_seq8192.jsonl"
    log.write_text(lines(0, 300, healthy) + '{"step": 300, "loss": null}\n' + '{"step": 301,')
    news, diverged = Watcher(tmp_path, load_results).look()
    assert (news, diverged) == ([], False)


def test_an_unreadable_file_is_one_line_and_the_rest_is_watched(tmp_path: Path) -> None:
    (tmp_path / "ok_seq8192.jsonl").write_text(lines(0, 300, healthy))
    (tmp_path / "bad.json").write_text("{not json")
    watcher = Watcher(tmp_path, load_results)
    news, _ = watcher.look()
    assert len(news) == 1 and "cannot read bad.json" in news[0]
    (tmp_path / "ok_seq8192.jsonl").write_text(lines(0, 301, healthy))
    assert watcher.look() == ([], False)  # the same error is not said again


def test_an_empty_folder_waits_for_its_first_log(tmp_path: Path) -> None:
    watcher = Watcher(tmp_path, load_results)
    out = io.StringIO()
    assert run_watch(watcher, interval=0.01, exit_on_divergence=True, out=out,
                     err=io.StringIO(), looks=3) == 0  # fmt: skip
    (tmp_path / "r_seq8192.jsonl").write_text(lines(0, 300, healthy) + lines(300, 330, exploding))
    code = run_watch(watcher, interval=0.01, exit_on_divergence=True, out=out, err=io.StringIO(),
                     looks=3)  # fmt: skip
    assert code == EXIT_DIVERGED and "DIVERGED" in out.getvalue()


@pytest.mark.slow
def test_the_command_exits_3_when_a_growing_log_diverges(tmp_path: Path) -> None:
    log = tmp_path / "mamba_seq8192.jsonl"
    log.write_text(lines(0, 300, healthy))
    proc = subprocess.Popen(
        [str(STABGRAPH), "watch", str(tmp_path), "--interval", "0.2", "--exit-on-divergence"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        time.sleep(1.5)
        assert proc.poll() is None, proc.communicate()
        with log.open("a") as out:
            out.write(lines(300, 330, exploding))
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == EXIT_DIVERGED, stderr
    said = stdout.strip().splitlines()
    assert said[0].endswith(f"watching {tmp_path} every 0.2 s (Ctrl-C stops)")
    assert len(said) == 2 and "Mamba 8k (mamba_seq8192.jsonl): DIVERGED at step 30" in said[1]
    assert "Traceback" not in stderr


def test_the_command_names_a_missing_folder_in_one_line(tmp_path: Path) -> None:
    done = subprocess.run([str(STABGRAPH), "watch", str(tmp_path / "nope")], capture_output=True,
                          text=True, timeout=60)  # fmt: skip
    assert done.returncode == 1
    assert done.stderr.strip() == f"stabgraph watch: error: {tmp_path / 'nope'}: does not exist"


@pytest.mark.skipif(not BIGSCIENCE.is_dir(), reason=f"real logs not found at {BIGSCIENCE}")
def test_a_real_megatron_log_that_diverged_is_reported_at_once() -> None:
    """BigScience's 104B run that spiked at 8741 and diverged at 9027 (see SOURCES.md)."""
    (log,) = BIGSCIENCE.glob("tr8-104B_exp12*")
    out = io.StringIO()
    code = run_watch(Watcher(log, load_results), interval=0.01, exit_on_divergence=True, out=out,
                     err=io.StringIO(), looks=1)  # fmt: skip
    assert code == EXIT_DIVERGED
    assert "DIVERGED at step 9027" in out.getvalue() and log.stem in out.getvalue()
