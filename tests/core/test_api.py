"""The notebook API, called the way the package docstring shows a user calling it."""

from __future__ import annotations

import json
import subprocess
import sys

import stabgraph_core as sg


def test_every_public_name_resolves_and_is_documented():
    for name in sg.__all__:
        value = getattr(sg, name)
        if name != "__version__":
            assert (value.__doc__ or "").strip(), f"{name} has no docstring"


def test_load_detect_draw_export_summarize(tmp_path):
    """runs/: mamba_seq8192.json (loss 4 - k/100, healthy) and trainer_log.jsonl
    (loss 3 - k/100 until step 60, then x1.2 per step: diverges).

    runs/
    ├── mamba_seq8192.json
    └── trainer_log.jsonl
    """
    folder = tmp_path / "runs"
    folder.mkdir()
    steps = list(range(100))
    (folder / "mamba_seq8192.json").write_text(
        json.dumps({"steps": steps, "loss": [4 - k / 100 for k in steps]})
    )
    losses = [3 - k / 100 if k < 60 else (3 - 0.6) * 1.2 ** (k - 60) for k in steps]
    (folder / "trainer_log.jsonl").write_text(
        "".join(
            json.dumps({"step": k, "loss": v}) + "\n" for k, v in zip(steps, losses, strict=True)
        )
    )
    result = sg.load_results(folder)
    assert not result.errors
    runs = result.runs
    assert [(r.model, r.seq_len) for r in runs] == [("mamba", 8192), ("trainer_log", None)]
    found = {r.run_id: sg.detect_run(r) for r in runs}
    assert [found[r.run_id].diverged for r in runs] == [False, True]
    fig = sg.build_figure(runs, detections=found)
    drawn = {t.meta["run_id"] for t in fig.data if t.meta and t.meta.get("role") == "loss"}
    assert drawn == {r.run_id for r in runs}
    out = sg.export_figure(fig, tmp_path / "stability.svg")
    assert out.read_bytes().lstrip().startswith(b"<svg")
    summary = sg.summarize(runs, detections=found)
    assert summary["trainer_log"]["?"]["detection"]["diverged"] is True


def test_simulate_in_a_fresh_interpreter_loads_no_dash():
    code = (
        "import sys, stabgraph_core as sg; runs = sg.simulate([8192], 50, 1);"
        "fig = sg.build_figure(runs); assert len(fig.data) > 0;"
        "assert not any(m.split('.')[0] == 'dash' for m in sys.modules), 'dash imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
