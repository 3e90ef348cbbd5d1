"""``load_results`` over a folder: formats together, errors, caching, nothing written."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from stabgraph_core.cli import _load, build_parser, main
from stabgraph_core.errors import InvalidArgumentError, NotFoundError
from stabgraph_core.loaders import LoadResult, cache_size, load_results


@pytest.fixture
def mixed_folder(tmp_path):
    """tmp/
    ├── mamba_seq8192.json          reference JSON, loss = 2k + 1
    ├── logs/run.log                nanoGPT console
    ├── logs/notes.md               ignored (documentation)
    ├── .hidden/x.json              ignored (hidden folder)
    └── broken/bad.json             truncated JSON -> one error
    """
    (tmp_path / "mamba_seq8192.json").write_text(
        json.dumps({"seq_len": 8192, "steps": [0, 1, 2], "loss": [1.0, 3.0, 5.0]})
    )
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "run.log").write_text("iter 0: loss 4.0, time 1ms\niter 1: loss 3.0,\n")
    (tmp_path / "logs" / "notes.md").write_text("# notes\n")
    (tmp_path / ".hidden").mkdir()
    (tmp_path / ".hidden" / "x.json").write_text("{")
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "bad.json").write_text('{"seq_len": 8192, "steps": [0, 1')
    return tmp_path


def test_good_files_load_and_each_bad_file_is_one_relative_line(mixed_folder):
    result = load_results(mixed_folder)
    assert isinstance(result, LoadResult)
    assert sorted(r.source for r in result.runs) == ["logs/run.log", "mamba_seq8192.json"]
    (error,) = result.errors
    assert str(error) == "broken/bad.json: line 1: truncated JSON (unexpected end of data)"


def test_nothing_is_written_into_the_results_folder(mixed_folder):
    before = {(p, p.stat().st_mtime_ns) for p in mixed_folder.rglob("*")}
    load_results(mixed_folder)
    load_results(mixed_folder, tag="loss")
    assert {(p, p.stat().st_mtime_ns) for p in mixed_folder.rglob("*")} == before


def test_unchanged_folder_is_served_from_the_cache(mixed_folder, monkeypatch):
    first = load_results(mixed_folder)
    assert cache_size() == 3
    from stabgraph_core.loaders import _jsonio

    def fail(*args, **kwargs):
        raise AssertionError("file was parsed again")

    monkeypatch.setattr(_jsonio.orjson, "loads", fail)
    second = load_results(mixed_folder)
    assert [r.run_id for r in second.runs] == [r.run_id for r in first.runs]
    assert second.runs[0].steps is first.runs[0].steps
    with pytest.raises(ValueError):
        second.runs[0].loss[0] = 0.0  # cached arrays are read-only


def test_changed_file_is_read_again(mixed_folder):
    load_results(mixed_folder)
    path = mixed_folder / "mamba_seq8192.json"
    path.write_text(json.dumps({"seq_len": 8192, "steps": [0, 1], "loss": [9.0, 8.0]}))
    os.utime(path, ns=(1, 1))
    runs = load_results(mixed_folder).runs
    assert runs.get("mamba", 8192).loss.tolist() == [9.0, 8.0]


def test_a_single_file_can_be_the_root(mixed_folder):
    result = load_results(mixed_folder / "mamba_seq8192.json")
    assert [r.source for r in result.runs] == ["mamba_seq8192.json"] and not result.errors


def test_missing_folder_and_bad_options():
    with pytest.raises(NotFoundError):
        load_results("/nonexistent/results")
    with pytest.raises(InvalidArgumentError, match="unknown preset"):
        load_results(".", preset="fairseq")


def _cli_runs(argv):
    """The runs the command line would chart (its loading step, without exporting a figure)."""
    return _load(build_parser().parse_args(argv))


def test_cli_warns_per_bad_file_and_fails_only_when_nothing_loads(mixed_folder, tmp_path, capsys):
    runs = _cli_runs(["--results_dir", str(mixed_folder)])
    assert len(runs) == 2
    assert "warning: broken/bad.json: line 1: truncated JSON" in capsys.readouterr().err
    only_bad = tmp_path / "only_bad"
    only_bad.mkdir()
    (only_bad / "x.json").write_text("[")
    assert main(["--results_dir", str(only_bad), "--output", str(tmp_path / "fig")]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and "no runs found" in err
    assert not list(tmp_path.glob("fig*"))


def test_cli_regex_and_tag_options(tmp_path, capsys):
    (tmp_path / "custom.out").write_text("at 1 L=2.5\nat 2 L=2.0\n")
    (tmp_path / "metrics.csv").write_text("step,train_loss,val_loss\n1,2.0,3.0\n")
    regex = r"at (?P<step>\d+) L=(?P<loss>\S+)"
    runs = _cli_runs(["--results_dir", str(tmp_path), "--regex", regex, "--tag", "val_loss"])
    assert {r.model: r.loss.tolist() for r in runs} == {"custom": [2.5, 2.0], "metrics": [3.0]}
    out = str(tmp_path / "fig")
    assert (
        main(["--results_dir", str(tmp_path), "--regex", r"at (?P<step>\d+)", "--output", out]) == 1
    )
    assert "named groups" in capsys.readouterr().err


def test_the_readme_example_folder_loads_as_documented():
    from pathlib import Path

    folder = Path(__file__).resolve().parents[3] / "examples" / "results"
    result = load_results(folder)
    assert not result.errors
    names = sorted(r.display_name for r in result.runs)
    assert names == [
        "Mamba 32k seed 1",
        "Mamba 8k",
        "ResNet-BK 32k seed 1",
        "ResNet-BK 32k seed 2",
        "ResNet-BK 8k",
        "transformer 8k (baseline)",
    ]
    mamba = result.runs.get("mamba", 8192)
    assert mamba.diverged is True and mamba.divergence_step == 140
    assert int(np.isnan(mamba.loss).sum()) == 5
