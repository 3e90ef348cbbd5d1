"""Live callbacks called directly: the poll, the selection kept across snapshots, the news."""

from __future__ import annotations

import base64
import json
import os
import time
from pathlib import Path

import numpy as np
import pytest
from dash import no_update
from dash._callback_context import context_value
from dash._utils import AttributeDict

from app import config, data
from app.callbacks import live, source


def _jsonl(path: Path, losses: list[float]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps({"step": k, "loss": v}) + "\n" for k, v in
                            enumerate(losses)))  # fmt: skip


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    _jsonl(tmp_path / "exp" / "mamba_seq8192.jsonl", [4.0 * 0.99**k + 1 for k in range(300)])
    monkeypatch.setenv("STABGRAPH_RESULTS_ROOT", str(tmp_path))
    monkeypatch.setenv("STABGRAPH_CACHE_DIR", str(tmp_path / ".cache"))
    return tmp_path


def _values(x) -> np.ndarray:
    """A trace's x as the figure holds it: a list, or Plotly's typed-array dict."""
    if isinstance(x, dict):
        return np.frombuffer(base64.b64decode(x["bdata"]), dtype=np.dtype(x["dtype"]))
    return np.asarray(x)


def _load(before=None, **kw):
    return source.load_source(value="folder:exp", seed=0, steps=1, sim_lengths=[],
                              before=before, **kw)  # fmt: skip


def test_the_poll_sends_a_new_key_only_when_the_folder_changed(root: Path) -> None:
    store = _load()["store"]
    options = [{"label": "Simulated runs", "value": "simulated"}]
    key, offered, runs = live.poll(1, store, options)
    assert key is no_update and offered is not no_update  # the folder list: sent once
    assert runs == "1 running"
    key, offered, runs = live.poll(2, store, offered, None, runs)
    assert key is no_update and offered is no_update and runs is no_update
    with (root / "exp" / "mamba_seq8192.jsonl").open("a") as out:
        out.write('{"step": 300, "loss": 1.0}\n')
    key, _, _ = live.poll(3, store, offered)
    assert isinstance(key, str) and key != store["snapshot"]
    assert live.poll(4, store, offered, key)[0] is no_update  # still loading: not sent again


def test_a_run_whose_log_stopped_changing_is_finished(root: Path, monkeypatch) -> None:
    from app.callbacks import table

    _jsonl(root / "exp" / "resnetbk_seq32768.jsonl", [3.0] * 50)
    monkeypatch.setenv("STABGRAPH_FINISHED_AFTER_S", "60")
    old = time.time() - 61
    os.utime(root / "exp" / "resnetbk_seq32768.jsonl", (old, old))
    store = _load()["store"]
    loaded = data.load_source(store)
    states = data.run_states(loaded)
    assert sorted(states.values()) == ["finished", "running"]
    assert live.runs_line(loaded) == "1 running · 1 finished"
    rows = {r["run"]: r["state"] for r in table.fill_table(store, None, None)}
    assert rows == {"Mamba 8k": "running", "ResNet-BK 32k": "finished"}
    later = data.run_states(loaded, now=time.time() + 120)
    assert set(later.values()) == {"finished"}
    assert data.run_states(data.load_source({"kind": "simulated"})) == {}


def test_every_part_of_the_page_reads_the_snapshot_it_was_given(root: Path) -> None:
    store = _load()["store"]
    with (root / "exp" / "mamba_seq8192.jsonl").open("a") as out:
        out.write('{"step": 300, "loss": 1.0}\n')
    data.clear_cache()  # another worker: it must still draw the page's snapshot
    assert data.load_source(store).runs[0].steps.size == 300
    assert data.load_source({"kind": "folder", "folder": "exp"}).runs[0].steps.size == 301


def test_a_new_run_is_ticked_an_unticked_one_stays_unticked(root: Path) -> None:
    first = _load()
    _jsonl(root / "exp" / "resnetbk_seq32768.jsonl", [3.0] * 50)
    out = _load(before=first["store"], models=["mamba"], lengths=[],
                model_options=first["model_options"],
                length_options=first["length_options"])  # fmt: skip
    assert out["models"] == ["mamba", "resnetbk"]
    assert out["lengths"] == [32768]  # 8k was unticked by the reader; 32k is new


def test_a_run_that_diverges_while_watched_gets_one_notice(root: Path) -> None:
    first = _load()
    assert first["notices"] == [] and first["notices_hidden"] is True
    losses = [4.0 * 0.99**k + 1 for k in range(300)] + [1.2 * 1.08**k for k in range(40)]
    _jsonl(root / "exp" / "mamba_seq8192.jsonl", losses)
    out = _load(before=first["store"], notices=[])
    (notice,) = out["notices"]
    assert "Mamba 8k diverged at step 300" in notice.children
    assert out["notices_hidden"] is False
    again = _load(before=out["store"], notices=out["notices"])
    assert again["notices"] is no_update  # no news: the notice stays as it is


def test_a_second_notice_keeps_the_first_and_forged_ones_are_dropped(root: Path) -> None:
    _jsonl(root / "exp" / "resnetbk_seq32768.jsonl", [3.0] * 300)
    first = _load()
    as_sent = [  # the page's copy, as JSON: one real notice, and what a forged body may hold
        {"type": "Li", "namespace": "dash_html_components", "props": {"children": "old news"}},
        {"props": {"children": {"type": "Script"}}},
        "<script>",
        7,
    ]
    _jsonl(root / "exp" / "mamba_seq8192.jsonl", [1.0] * 300 + [float("nan")] + [1.0] * 50)
    out = _load(before=first["store"], notices=as_sent, model_options=-1, length_options="x")
    texts = [n.children for n in out["notices"]]
    assert texts[0] == "old news" and len(texts) == 2
    assert "Mamba 8k: first NaN/Inf loss at step 300" in texts[1]
    assert out["models"] == ["mamba", "resnetbk"]  # forged options: everything stays drawn


def test_polling_only_for_a_folder_and_not_when_paused() -> None:
    folder = {"kind": "folder", "folder": "exp"}
    context_value.set(AttributeDict(triggered_inputs=[{"prop_id": "live-pause.value"}]))
    assert live.switch({"kind": "simulated"}, [])[0] is True
    assert live.switch(folder, []) == (False, "Live")
    assert live.switch(folder, ["paused"]) == (True, "Paused")
    assert live.switch(folder, {"forged": 1})[0] is True  # a forged value pauses, no 500


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("", 1.0), ("0", 0.0), ("0.1", 0.25), ("5", 5.0), ("x", 1.0), ("-1", 1.0), ("nan", 1.0)],
)
def test_poll_interval_from_the_environment(value: str, seconds: float) -> None:
    assert config._poll_seconds(value) == seconds


def test_a_live_redraw_patches_only_what_changed(root: Path) -> None:
    from app.callbacks import figure

    _jsonl(root / "exp" / "resnetbk_seq32768.jsonl", [3.0 - k / 1000 for k in range(300)])
    first = _load()["store"]
    context_value.set(AttributeDict(triggered_inputs=[{"prop_id": "source-store.data"}]))
    whole, trace_map, drawn = figure.draw_chart(first, 0, "linear", "steps", None, None, None)
    assert isinstance(whole, dict) and drawn == {"label": "exp", "snapshot": first["snapshot"]}
    with (root / "exp" / "mamba_seq8192.jsonl").open("a") as out:
        out.writelines(json.dumps({"step": k, "loss": 1.0}) + "\n" for k in range(300, 320))
    now = _load(before=first)["store"]
    patch, new_map, drawn = figure.draw_chart(now, 0, "linear", "steps", None, None, None,
                                              None, None, drawn)  # fmt: skip
    assert not isinstance(patch, dict), "the same runs: a Patch, not the whole figure"
    assert new_map == trace_map and drawn["snapshot"] == now["snapshot"]
    operations = patch.to_plotly_json()["operations"]
    changed = {op["location"][1] for op in operations if op["location"][0] == "data"}
    mamba = {i for i, e in enumerate(trace_map) if (e["run_id"] or "").startswith("mamba")}
    assert changed and changed <= mamba, "the resnetbk traces are not sent again"
    xs = [op["params"]["value"] for op in operations if op["location"][2:] == ["x"]]
    assert any(_values(x).max() == 319 for x in xs), "the new points are in the patch"
    # a new run: the traces are not the same ones, so the figure is sent whole
    _jsonl(root / "exp" / "mamba_seq65536.jsonl", [2.0] * 100)
    later = _load(before=now)["store"]
    again = figure.draw_chart(later, 0, "linear", "steps", None, None, None, None, None, drawn)
    assert isinstance(again[0], dict) and len(again[0]["data"]) > len(whole["data"])
    # what the page sends as the drawn source is untrusted
    for forged in (
        "exp/",
        ["x"],
        {"label": 3, "snapshot": "zz"},
        {"label": "exp/", "snapshot": "0" * 64},
    ):
        out = figure.draw_chart(later, 0, "linear", "steps", None, None, None, None, None, forged)
        assert isinstance(out[0], dict) and out[0]["data"]
