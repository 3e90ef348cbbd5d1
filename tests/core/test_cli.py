"""The command line: exit codes, messages, the summary file, --help."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest

from stabgraph_core.cli import build_parser, main


def test_simulate_save_summary_matches_golden(tmp_path, reference_dir, capsys):
    out = tmp_path / "figs" / "graph"
    assert main(["--simulate", "--save_summary", "--format", "html", "--output", str(out)]) == 0
    printed = capsys.readouterr().out
    for label in ("8k", "32k", "128k", "512k", "1M"):
        assert f" {label} " in printed
    assert "yes (step 600)" in printed
    ours = json.loads((tmp_path / "figs" / "graph.json").read_text())
    golden = json.loads((reference_dir / "reference_summary_seed42_n1000.json").read_text())
    for key, fields in golden["mamba"].items():
        for name, expected in fields.items():
            got = ours["mamba"][key][name]
            assert (
                math.isclose(got, expected, rel_tol=1e-12)
                if isinstance(expected, float)
                else got == expected
            )


def test_missing_results_dir_is_one_line_and_suggests_simulate(tmp_path, capsys):
    code = main(["--results_dir", str(tmp_path / "nope"), "--output", str(tmp_path / "o")])
    err = capsys.readouterr().err.strip()
    assert code == 1
    assert err.count("\n") == 0 and "not found" in err and "--simulate" in err


def test_empty_results_dir_exits_nonzero(tmp_path, capsys):
    (tmp_path / "runs").mkdir()
    code = main(["--results_dir", str(tmp_path / "runs"), "--output", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 1 and "no runs found" in err and "--simulate" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--simulate", "--num_steps", "0"], "--num_steps must be positive"),
        (["--simulate", "--sequence_lengths", "8192", "-4"], "sequence lengths must be positive"),
    ],
)
def test_bad_simulation_arguments(argv, message, tmp_path, capsys):
    assert main([*argv, "--output", str(tmp_path / "o")]) == 1
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not list(tmp_path.iterdir())  # nothing written


def test_help_lists_every_reference_flag():
    text = build_parser().format_help()
    for flag in (
        "--results_dir",
        "--simulate",
        "--sequence_lengths",
        "--num_steps",
        "--output",
        "--dpi",
        "--format",
        "--save_summary",
        "--seed",
        "--baseline",
        "--candidate",
    ):
        assert flag in text


def test_module_entry_point_runs(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "stabgraph_core", "--results_dir", str(tmp_path / "missing")],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 1 and proc.stderr.startswith("stabgraph: error:")


@pytest.mark.parametrize(
    ("argv", "draws"),
    [
        (["--simulate"], True),
        (["--simulate", "--format", "pdf", "--detect-window", "50"], True),
        (["-h"], False),
        (["--help"], False),
        (["--vers"], False),
        (["--simulate", "--detect-only"], False),
        (["--simulate", "--detect-o"], False),
    ],
)
def test_the_command_launches_chromium_only_for_a_figure(argv, draws):
    from stabgraph_core.__main__ import _makes_figure

    assert _makes_figure(argv) is draws


def test_chromium_is_launched_before_numpy_and_plotly_are_imported():
    # what lets the command start Chromium first (see stabgraph_core/__main__.py)
    code = (
        "import sys, stabgraph_core.export; from stabgraph_core import __version__; "
        "print(sorted(m for m in ('numpy', 'plotly', 'pandas') if m in sys.modules))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_package_names_are_the_functions_whichever_module_was_imported_first():
    code = (
        "import stabgraph_core.simulation, stabgraph_core.cli; "
        "from stabgraph_core import simulate, summarize, RunSet; "
        "print(callable(simulate), len(simulate(lengths=[8192], num_steps=5)))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["True", "2"]


def test_a_reader_that_goes_away_ends_the_command_without_a_traceback():
    proc = subprocess.Popen(
        [sys.executable, "-m", "stabgraph_core", "--simulate", "--detect-only"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    proc.stdout.close()  # as `| head` does, before the table is printed
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 1
    assert b"Traceback" not in err and b"BrokenPipe" not in err, err.decode()


def test_files_as_trainers_leave_them(tmp_path, capsys):
    """A folder of small logs mid-training: a short last CSV row, a value missing in the
    middle, a half-written JSONL line, a file with no loss. Nothing diverges, nothing is NaN.

    tmp/
    ├── mamba_seq8192.csv        Wall time,Step,Value; step 5 without a value; "100.0,100" last
    ├── resnetbk_seq8192.jsonl   10 records, then '{"step": 10, "lo' (no line break)
    └── empty_seq8192.jsonl      records without a loss field
    """
    rows = "".join(f"1.0,{k},{'' if k == 5 else 20 - k}\n" for k in range(10))
    (tmp_path / "mamba_seq8192.csv").write_text("Wall time,Step,Value\n" + rows + "100.0,100")
    records = "".join(json.dumps({"step": k, "loss": 20 - k}) + "\n" for k in range(10))
    (tmp_path / "resnetbk_seq8192.jsonl").write_text(records + '{"step": 10, "lo')
    (tmp_path / "empty_seq8192.jsonl").write_text('{"step": 1, "lr": 0.1}\n')
    code = main(["--results_dir", str(tmp_path), "--detect-only"])
    captured = capsys.readouterr()
    assert code == 0
    assert "diverged" not in captured.out.replace("not diverged", "")
    assert "NaN" not in captured.out
    err = captured.err.splitlines()
    assert "warning: empty_seq8192.jsonl: no loss values in the file (no line has 'loss'," in err[0]
    assert any(
        line.startswith("note: mamba_seq8192.csv: the last row is not written yet") for line in err
    )
    assert any(
        line.startswith("note: resnetbk_seq8192.jsonl: the last line is not written yet")
        for line in err
    )
    assert any(line == "note: mamba_seq8192.csv: 1 row without a loss value: no point drawn"
               for line in err)  # fmt: skip
