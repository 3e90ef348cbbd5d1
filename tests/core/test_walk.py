"""The one walk of a results folder: what it lists, what it refuses, what it survives."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from stabgraph_core import walk
from stabgraph_core.loaders import clear_cache, load_results


def _run(path: Path, loss: list[float], seq_len: int = 8192) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"seq_len": seq_len, "steps": list(range(len(loss))), "loss": loss}))
    return path


@pytest.fixture(autouse=True)
def _fresh_cache():
    clear_cache()
    yield
    clear_cache()


@pytest.fixture
def planted(tmp_path: Path) -> Path:
    """tmp/
    ├── outside/
    │   ├── mamba_seq8192.json     a log-shaped file outside the root (loss 9, 9, 9)
    │   └── runs.toml              would rename every run "leaked" if it were read
    └── results/                   the root
        └── planted/
            ├── resnetbk_seq8192.json        loss 2k + 1 at step k
            ├── sub/mamba_seq32768.json      loss 2k + 2 (a link to it sits beside it)
            ├── inside.json -> sub/mamba_seq32768.json
            ├── passwd -> /etc/passwd
            ├── mamba_seq8192.json -> ../../outside/mamba_seq8192.json
            ├── runs.toml -> ../../outside/runs.toml
            ├── gone.json -> nothing.json     (dangling)
            ├── fifo                         a named pipe
            └── .hidden/secret.json
    """
    outside = tmp_path / "outside"
    _run(outside / "mamba_seq8192.json", [9.0, 9.0, 9.0])
    (outside / "runs.toml").write_text('[[runs]]\nmatch = "*"\nmodel = "leaked"\n')
    folder = tmp_path / "results" / "planted"
    _run(folder / "resnetbk_seq8192.json", [2 * k + 1 for k in range(4)])
    _run(folder / "sub" / "mamba_seq32768.json", [2 * k + 2 for k in range(4)], 32768)
    os.symlink("sub/mamba_seq32768.json", folder / "inside.json")
    os.symlink("/etc/passwd", folder / "passwd")
    os.symlink("../../outside/mamba_seq8192.json", folder / "mamba_seq8192.json")
    os.symlink("../../outside/runs.toml", folder / "runs.toml")
    os.symlink("nothing.json", folder / "gone.json")
    os.mkfifo(folder / "fifo")
    _run(folder / ".hidden" / "secret.json", [1.0])
    return folder


def test_the_walk_lists_every_file_in_order_and_refuses_what_leaves_the_root(planted: Path):
    root = planted.parent
    listed = {e.rel: e.refused for e in walk.walk_files(planted, within=root)}
    assert list(listed) == [
        "fifo",
        "gone.json",
        "inside.json",
        "mamba_seq8192.json",
        "passwd",
        "resnetbk_seq8192.json",
        "runs.toml",
        "sub/mamba_seq32768.json",
    ]
    assert listed["passwd"] == listed["mamba_seq8192.json"] == listed["runs.toml"] == walk.OUTSIDE
    assert listed["gone.json"] == walk.DANGLING
    assert listed["fifo"] == walk.NOT_REGULAR
    assert listed["inside.json"] is None and listed["resnetbk_seq8192.json"] is None


def test_nothing_outside_the_root_is_opened_and_each_refusal_is_one_line(planted: Path):
    result = load_results(planted, within=planted.parent)
    assert sorted((r.model, r.seq_len, r.loss.tolist()[0]) for r in result.runs) == [
        ("inside", 32768, 2.0),  # a link that stays inside the root is read
        ("mamba", 32768, 2.0),
        ("resnetbk", 8192, 1.0),
    ]
    assert all(r.model != "leaked" for r in result.runs), "runs.toml outside was read"
    lines = {str(e) for e in result.errors}
    assert lines == {
        f"passwd: {walk.OUTSIDE}",
        f"mamba_seq8192.json: {walk.OUTSIDE}",
        f"runs.toml: {walk.OUTSIDE}",
        f"gone.json: {walk.DANGLING}",
        f"fifo: {walk.NOT_REGULAR}",
    }
    assert not any("root:" in line for line in lines)


def test_without_a_boundary_links_are_followed_as_before(planted: Path):
    """The command line reads what its user points it at; pipes are still never opened."""
    result = load_results(planted)
    assert any(r.loss.tolist() == [9.0, 9.0, 9.0] for r in result.runs)
    lines = {str(e) for e in result.errors}
    assert f"fifo: {walk.NOT_REGULAR}" in lines


def test_a_file_that_vanishes_during_the_walk_is_left_out(
    planted: Path, monkeypatch: pytest.MonkeyPatch
):
    """Log rotation: the name is listed, then the file is gone before it is looked at."""
    real_stat = os.stat
    vanished = str(planted / "resnetbk_seq8192.json")

    def stat(path, *args, **kwargs):
        if os.fspath(path) == vanished:
            raise FileNotFoundError(2, "No such file or directory", vanished)
        return real_stat(path, *args, **kwargs)

    monkeypatch.setattr(walk.os, "stat", stat)
    rels = [e.rel for e in walk.walk_files(planted, within=planted.parent)]
    assert "resnetbk_seq8192.json" not in rels
    assert "sub/mamba_seq32768.json" in rels


def test_the_fingerprint_changes_with_any_file_and_survives_a_dangling_link(planted: Path):
    root = planted.parent
    before = walk.fingerprint(planted, within=root)
    assert ("gone.json", -1, -1, walk.DANGLING) in before
    _run(planted / "sub" / "new.json", [1.0, 2.0])
    assert walk.fingerprint(planted, within=root) != before


def test_a_folder_that_is_itself_outside_the_boundary_gives_nothing(tmp_path: Path):
    _run(tmp_path / "elsewhere" / "resnetbk_seq8192.json", [1.0])
    (tmp_path / "root").mkdir()
    os.symlink(tmp_path / "elsewhere", tmp_path / "root" / "escape")
    assert list(walk.walk_files(tmp_path / "root" / "escape", within=tmp_path / "root")) == []
