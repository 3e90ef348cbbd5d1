"""``stabgraph --figure memory``: the memory comparison figure in every format from a sweep of
JSONL logs (ResNet-BK logs ``memory_gb``, Mamba ``peak_memory_mb``) plus a
``train_long_context.py`` result whose 128k length ran out of memory."""

from __future__ import annotations

import base64
import json
import struct
from pathlib import Path

import numpy as np
import pytest
from sweep_data import SWEEP_DIVERGED, SWEEP_LENGTHS, SWEEP_MEMORY_GB

from stabgraph_core import export
from stabgraph_core.cli import DEFAULT_OUTPUTS, build_parser, main
from stabgraph_core.errors import ExportError

OOM_LENGTH = 131072


def _chromium_or_skip() -> None:
    try:
        export.browser_path()
    except ExportError as err:
        pytest.skip(str(err))


def _traces(html: str) -> list[dict]:
    """The figure's traces as the HTML holds them, typed arrays decoded to lists."""
    body = html[html.index("Plotly.newPlot(") :]
    data, _ = json.JSONDecoder().raw_decode(body[body.index("[") :])
    for trace in data:
        for key in ("x", "y"):
            value = trace.get(key)
            if isinstance(value, dict) and "bdata" in value:
                trace[key] = np.frombuffer(
                    base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"])
                ).tolist()
    return data


def _add_oom_result(sweep: Path) -> None:
    """mamba/long_context_mamba_results.json: 8k finished, 128k "CUDA out of memory"."""
    history = [
        {"step": k + 1 + 30 * i, "seq_len": n, "loss": 4.0 - k / 60}
        for i, n in enumerate((8192, OOM_LENGTH))
        for k in range(30)
    ]
    data = {
        "model": "mamba",
        "metrics_history": history,
        "results_by_length": {
            "8192": {"avg_loss": 3.6},
            str(OOM_LENGTH): {
                "status": "error: CUDA out of memory. Tried to allocate 8.00 GiB",
                "peak_memory_gb": 79.5,
            },
        },
    }
    (sweep / "mamba" / "long_context_mamba_results.json").write_text(json.dumps(data))


@pytest.fixture(scope="module")
def memory_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``--figure memory --format all --dpi 100`` over the sweep with the OOM result."""
    _chromium_or_skip()
    from sweep_data import write_sweep

    root = tmp_path_factory.mktemp("memory_cli")
    sweep = write_sweep(root)
    _add_oom_result(sweep)
    out = root / "out" / "memory"
    argv = ["--results_dir", str(sweep), "--figure", "memory", "--format", "all"]
    assert main([*argv, "--dpi", "100", "--output", str(out)]) == 0
    return out


def test_every_format_is_written_and_valid(memory_out: Path) -> None:
    assert memory_out.with_suffix(".pdf").read_bytes().startswith(b"%PDF-")
    assert memory_out.with_suffix(".eps").read_bytes().startswith(b"%!PS-Adobe")
    svg = memory_out.with_suffix(".svg").read_text()
    assert svg.lstrip().startswith("<svg")
    for text in ("Peak memory (GB)", "Sequence length (tokens)", "8k", "32k", "128k", "OOM"):
        assert f">{text}<" in svg, text
    png = memory_out.with_suffix(".png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])
    assert (width, height) == (1200, 700)  # 12 x 7 in at 100 dpi
    assert "<html" in memory_out.with_suffix(".html").read_text()


def test_html_holds_each_models_peaks_and_the_marks(memory_out: Path) -> None:
    traces = _traces(memory_out.with_suffix(".html").read_text())
    lines = {t["meta"]["model"]: t for t in traces if t["meta"]["role"] == "memory"}
    assert set(lines) == {"resnetbk", "mamba"}
    for model, line in lines.items():
        assert line["x"] == list(SWEEP_LENGTHS)
        assert line["y"] == pytest.approx([SWEEP_MEMORY_GB[(model, n)] for n in SWEEP_LENGTHS])
    # by hand: Mamba 32k logs peak_memory_mb = 6144 in every record, i.e. 6 GiB
    assert lines["mamba"]["y"][1] == pytest.approx(6144 / 1024)
    assert "largest of 3 runs" in lines["resnetbk"]["hovertext"][0]
    model, length, _seed = SWEEP_DIVERGED
    (diverged,) = [t for t in traces if t["meta"]["role"] == "diverged"]
    assert diverged["meta"]["model"] == model
    assert diverged["x"] == [length] and diverged["y"] == pytest.approx([6.0])
    (oom,) = [t for t in traces if t["meta"]["role"] == "oom"]
    assert oom["meta"]["model"] == "mamba" and oom["x"] == [OOM_LENGTH]
    assert "79.50 GB" in oom["hovertext"][0]
    keys = {t["name"] for t in traces if t["meta"]["role"] == "key"}
    assert keys == {"Diverged (declared or detected)", "Ran out of memory (OOM)"}


def test_default_output_is_its_own_file(tmp_path: Path, monkeypatch, capsys) -> None:
    _chromium_or_skip()
    monkeypatch.chdir(tmp_path)
    argv = ["--simulate", "--num_steps", "60", "--figure", "memory", "--format", "svg"]
    assert main([*argv, "--dpi", "50"]) == 0
    assert DEFAULT_OUTPUTS["memory"] == "results/memory_graph"
    assert sorted(p.name for p in (tmp_path / "results").iterdir()) == [
        "memory_graph.png",
        "memory_graph.svg",
    ]
    assert "figure written to results/memory_graph.svg" in capsys.readouterr().out


def test_no_memory_logged_warns_in_one_line_and_still_writes(tmp_path: Path, capsys) -> None:
    runs = tmp_path / "runs"
    runs.mkdir()
    (runs / "mamba_seq8192.json").write_text(
        json.dumps({"steps": list(range(50)), "loss": [4 - k / 100 for k in range(50)]})
    )
    out = tmp_path / "out" / "memory"
    argv = ["--results_dir", str(runs), "--figure", "memory", "--format", "html"]
    _chromium_or_skip()
    assert main([*argv, "--output", str(out), "--dpi", "50"]) == 0
    err = capsys.readouterr().err
    (warning,) = [line for line in err.splitlines() if "memory" in line]
    assert warning.startswith("warning: no run logs memory")
    assert "No run logs memory" in out.with_suffix(".html").read_text()


def test_a_missing_folder_is_one_error_line_and_nothing_written(tmp_path: Path, capsys) -> None:
    argv = ["--results_dir", str(tmp_path / "nope"), "--figure", "memory"]
    assert main([*argv, "--output", str(tmp_path / "o")]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith("stabgraph: error:") and "not found" in err
    assert not list(tmp_path.iterdir())


def test_an_unreadable_only_file_is_one_error_line(tmp_path: Path, capsys) -> None:
    runs = tmp_path / "runs"
    runs.mkdir()
    (runs / "bad.json").write_text('{"steps": [0, 1')
    argv = ["--results_dir", str(runs), "--figure", "memory"]
    assert main([*argv, "--output", str(tmp_path / "o")]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and "no runs found" in err


def test_figure_flag_is_listed_and_checked(capsys) -> None:
    help_text = build_parser().format_help()
    assert "--figure {loss,memory}" in help_text
    with pytest.raises(SystemExit) as stop:
        build_parser().parse_args(["--figure", "gpu"])
    assert stop.value.code == 2
    assert "invalid choice" in capsys.readouterr().err
