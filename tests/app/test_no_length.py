"""Runs whose files name no sequence length, through every callback that selects by length:
the source's checklist, the chart, the toggles, the table, the downloads and the URL.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app import data, downloads, state, view
from app.callbacks import figure, source, table

NONE = state.NO_LENGTH


@pytest.fixture
def mixed_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """results/mixed/: mamba_seq8192.json (a length) and two logs that name none.

    results/mixed/
    ├── mamba_seq8192.json   loss 4 - k/100, k = 0..99
    ├── trainer_log.jsonl    loss 3 - k/100
    └── output.log           nanoGPT console, loss 2 - k/100
    """
    folder = tmp_path / "results" / "mixed"
    folder.mkdir(parents=True)
    steps = list(range(100))
    record = {"steps": steps, "loss": [4 - k / 100 for k in steps]}
    (folder / "mamba_seq8192.json").write_text(json.dumps(record))
    lines = [json.dumps({"step": k, "loss": 3 - k / 100}) for k in steps]
    (folder / "trainer_log.jsonl").write_text("\n".join(lines) + "\n")
    text = "".join(f"iter {k}: loss {2 - k / 100:.4f}, time 1ms\n" for k in steps)
    (folder / "output.log").write_text(text)
    monkeypatch.setenv("STABGRAPH_RESULTS_ROOT", str(tmp_path / "results"))
    monkeypatch.setenv("STABGRAPH_CACHE_DIR", str(tmp_path / "cache"))
    return folder


def _loaded() -> dict:
    return source.load_source(
        value=state.folder_value("mixed"), seed=42, steps=100, sim_lengths=[], models=None,
        lengths=None,
    )  # fmt: skip


def test_source_offers_no_length_as_its_own_entry(mixed_root):
    out = _loaded()
    assert out["length_options"] == [
        {"label": "8k", "value": 8192},
        {"label": "no length", "value": NONE},
    ]
    assert out["lengths"] == [8192, NONE]
    assert out["status"].startswith("3 runs · 3 models · 1 length")


def test_every_run_is_drawn_and_the_no_length_tick_hides_only_those(mixed_root):
    store = _loaded()["store"]
    fig, trace_map, _drawn_source = figure.draw_chart(
        store, 0.0, "linear", "steps", None, [8192, NONE], None
    )
    curves = {t["meta"]["run_id"] for t in fig["data"] if t["meta"]["role"] == "loss"}
    assert len(curves) == 3 and all(t.get("visible") is not False for t in fig["data"])
    flags = view.visibility(trace_map, None, [8192], None)
    hidden = {e["run_id"] for e, on in zip(trace_map, flags, strict=True) if not on}
    assert hidden == {r for r in curves if "seqNA" in r}
    flags = view.visibility(trace_map, None, [NONE], None)
    shown = {e["run_id"] for e, on in zip(trace_map, flags, strict=True) if on and e["run_id"]}
    assert shown == {r for r in curves if "seqNA" in r}


def test_table_lists_the_runs_of_the_ticked_lengths(mixed_root):
    store = _loaded()["store"]
    assert len(table.fill_table(store, None, [8192, NONE])) == 3
    only = table.fill_table(store, None, [NONE])
    assert sorted(r["run"] for r in only) == ["output", "trainer_log"]
    assert [r["run"] for r in table.fill_table(store, None, [8192])] == ["Mamba 8k"]


def test_downloads_hold_the_runs_without_a_length(mixed_root):
    loaded = data.load_source(_loaded()["store"])
    choice = downloads.ViewChoice(lengths=[NONE])
    rows = downloads.render(loaded, choice, "csv").decode().splitlines()
    assert {line.split(",")[0] for line in rows[1:]} == {"output", "trainer_log"}
    summary = json.loads(downloads.render(loaded, downloads.ViewChoice(), "json"))
    assert {"output", "trainer_log", "mamba"} <= set(summary)


def test_url_keeps_the_no_length_tick():
    search = state.encode({"lengths": [NONE]}, ["m"], [8192, NONE])
    assert search == "?lengths=none"
    assert state.decode(search)["lengths"] == [NONE]
    assert state.decode("?lengths=8192,none")["lengths"] == [8192, NONE]
