"""The run table's seed groups: one group row per group, opened to its seed rows on a click
of its Run cell, its numbers from the seeds', and the highlight of a group or a seed."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from dash import no_update
from dash._callback_context import context_value
from dash._utils import AttributeDict
from sweep_data import SWEEP_ONSET

from app import data, ids, inputs, state, view
from app.callbacks import figure, table
from stabgraph_core.errors import InvalidArgumentError
from stabgraph_core.model import Run, RunSet

MAMBA_32K = "mamba_seq32768_seeds"  # the group whose seed 2 diverges
RESNET_8K = "resnetbk_seq8192_seeds"
SIM = {"kind": "simulated", "seed": 42, "steps": 200, "lengths": [8192]}


@pytest.fixture
def sweep(sweep_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict:
    """The sweep folder as the page's source store names it."""
    monkeypatch.setenv("STABGRAPH_RESULTS_ROOT", str(sweep_dir.parent))
    monkeypatch.setenv("STABGRAPH_CACHE_DIR", str(tmp_path / "cache"))
    return state.source_from_value(f"{state.FOLDER_PREFIX}{sweep_dir.name}", 0, 1, [])


@pytest.fixture
def said() -> dict:
    """A callback context whose ``set_props`` calls land in the returned dict."""
    props: dict = {}
    context_value.set(AttributeDict(updated_props=props, triggered_inputs=[]))
    return props


def _by_id(rows: list[dict]) -> dict[str, dict]:
    return {r["run_id"]: r for r in rows}


def _click(group: str, label: str, column: str = "run") -> dict:
    return {"colId": column, "rowId": group, "value": label, "rowIndex": 0, "timestamp": 1}


def test_a_closed_sweep_is_one_group_row_per_model_and_length(sweep: dict) -> None:
    rows = table.fill_table(sweep, None, None)
    assert len(rows) == 4
    assert {r["kind"] for r in rows} == {"group"}
    assert {r["run_id"] for r in rows} == {
        f"{m}_seq{n}_seeds" for m in ("mamba", "resnetbk") for n in (8192, 32768)
    }
    mamba = _by_id(rows)[MAMBA_32K]
    assert mamba["run"] == "▸ Mamba 32k · 3 seeds"
    assert mamba["seeds"] == 3
    assert mamba["source"] == "mamba/ (3 files)"
    assert mamba["declared"] == "not stated"  # the logs say nothing; the detector does
    detected = mamba["detected"]
    assert detected.startswith("1/3 diverged (step ")
    assert SWEEP_ONSET <= int(detected.split("step ")[1].rstrip(")").replace(",", "")) < 320
    assert _by_id(rows)[RESNET_8K]["detected"] == "no"
    json.dumps(rows)  # what the grid is sent: plain JSON


def test_an_open_group_lists_its_seeds_right_after_it(sweep: dict) -> None:
    closed = table.fill_table(sweep, None, None)
    rows = table.fill_table(sweep, None, None, None, None, [MAMBA_32K])
    assert len(rows) == 7
    at = [r["run_id"] for r in rows].index(MAMBA_32K)
    assert [r["run_id"] for r in closed].index(MAMBA_32K) == at  # the group stays in place
    assert rows[at]["run"] == "▾ Mamba 32k · 3 seeds"
    seeds = rows[at + 1 : at + 4]
    assert [r["run"] for r in seeds] == ["seed 0", "seed 1", "seed 2"]
    assert [r["run_id"] for r in seeds] == [f"mamba_seq32768_seed{k}" for k in range(3)]
    assert {r["kind"] for r in seeds} == {"seed"} and {r["group"] for r in seeds} == {MAMBA_32K}
    assert [r["detected"] != "no" for r in seeds] == [False, False, True]
    assert seeds[0]["source"] == "mamba/seq32768_seed0.jsonl"
    others = [r for r in rows if r["run_id"] != MAMBA_32K and r not in seeds]
    assert {r["kind"] for r in others} == {"group"}  # the other groups stay closed
    # an unknown id in the list opens nothing; a filter that hides the group drops its seeds
    assert len(table.fill_table(sweep, None, None, None, None, ["nope", MAMBA_32K])) == 7
    only_resnet = table.fill_table(sweep, ["resnetbk"], None, None, None, [MAMBA_32K])
    assert {r["run_id"] for r in only_resnet} == {RESNET_8K, "resnetbk_seq32768_seeds"}


def _last_losses(folder: Path, stem: str) -> list[float]:
    out = []
    for seed in range(3):
        lines = (folder / f"{stem}_seed{seed}.jsonl").read_text().splitlines()
        out.append(json.loads(lines[-1])["loss"])
    return out


def test_a_group_rows_numbers_come_from_its_seeds(sweep: dict, sweep_dir: Path) -> None:
    rows = _by_id(table.fill_table(sweep, None, None, None, None, [RESNET_8K, MAMBA_32K]))
    finals = _last_losses(sweep_dir / "resnetbk", "seq8192")  # by hand, from the files
    group = rows[RESNET_8K]
    assert group["final"] == pytest.approx(sum(finals) / 3, rel=1e-3)
    assert group["final_std"] == pytest.approx(np.std(finals, ddof=1), rel=0.05)
    seeds = [rows[f"resnetbk_seq8192_seed{k}"] for k in range(3)]
    assert group["min"] == min(s["min"] for s in seeds)
    assert group["mean"] == pytest.approx(np.mean([s["mean"] for s in seeds]), rel=1e-3)
    assert group["nan"] == group["inf"] == 0
    assert group["spikes"] == sum(s["spikes"] for s in seeds)
    # the diverged seed's exploded final loss is in its group's mean, and says so by the spread
    mamba = rows[MAMBA_32K]
    exploded = _last_losses(sweep_dir / "mamba", "seq32768")
    assert mamba["final"] == pytest.approx(np.mean(exploded), rel=1e-3)
    assert mamba["final_std"] > 1


def _run(seed: int | None, **kw) -> Run:
    steps = np.arange(50)
    loss = 3.0 * np.exp(-steps / 20) + 1.0 + (seed or 0) * 0.01
    return Run("mamba", kw.pop("seq_len", 8192), steps, loss, seed=seed, **kw)


def _loaded(*runs: Run) -> data.Loaded:
    return data.Loaded(data.SourceChoice(), RunSet(runs))


def test_a_lone_seed_and_a_run_without_one_stay_plain_rows() -> None:
    rows = table.table_rows(
        _loaded(
            _run(3, seq_len=1024, source="a/one.json"),
            _run(None, seq_len=2048),
            _run(0, source="b/s0.json", diverged=False, notes=("duplicate steps dropped",)),
            _run(1, source="b/s1.json", diverged=True, divergence_step=40),
            _run(5, source="b/s5.json", diverged=True, divergence_step=30),
        ),
        None,
        None,
    )
    assert [(r["kind"], r["run"]) for r in rows] == [
        ("run", "Mamba 1k seed 3"),
        ("run", "Mamba 2k"),
        ("group", "▸ Mamba 8k · 3 seeds"),
    ]
    group = rows[2]
    assert group["declared"] == "2/3 diverged (step 30)"  # the earliest
    assert group["detected"] == "—"  # no detection was run on these
    assert group["source"] == "b/ (3 files)"
    assert group["notes"] == "duplicate steps dropped"
    assert rows[0]["source"] == "a/one.json" and "final_std" not in rows[0]


def test_a_groups_declared_and_source_read_well_in_the_other_cases() -> None:
    both = table.table_rows(
        _loaded(_run(0, source="x.json", diverged=False), _run(1, source="x.json")), None, None
    )
    assert both[0]["declared"] == "no (1/2 not stated)"
    assert both[0]["source"] == "x.json"  # both seeds in one file
    apart = table.table_rows(_loaded(_run(0, source="a.json"), _run(1, source="b.json")), [], [])
    assert apart == []  # nothing ticked, nothing shown
    apart = table.table_rows(
        _loaded(_run(0, source="a.json"), _run(1, source="b.json")), None, None
    )
    assert apart[0]["source"] == "2 files" and apart[0]["declared"] == "not stated"
    assert apart[0]["final_std"] == pytest.approx(0.0071, rel=0.05)


# ---- opening and closing -------------------------------------------------------------------


def test_a_click_on_a_groups_run_cell_opens_it_and_another_closes_it() -> None:
    opened = table.toggle_group(_click(MAMBA_32K, "▸ Mamba 32k · 3 seeds"), [])
    assert opened == [MAMBA_32K]
    both = table.toggle_group(_click(RESNET_8K, "▸ ResNet-BK 8k · 3 seeds"), opened)
    assert both == [MAMBA_32K, RESNET_8K]
    assert table.toggle_group(_click(MAMBA_32K, "▾ Mamba 32k · 3 seeds"), both) == [RESNET_8K]
    assert table.toggle_group(_click(RESNET_8K, "▸ x", column="final"), both) is no_update
    assert table.toggle_group(_click("mamba_seq8192", "Mamba 8k"), both) is no_update
    assert table.toggle_group(_click("mamba_seq32768_seed0", "seed 0"), both) is no_update
    assert table.toggle_group({"colId": "run", "value": "▸ a"}, []) is no_update  # no row id
    full = [f"g{k}" for k in range(inputs.MAX_OPEN_GROUPS)]
    kept = table.toggle_group(_click("new", "▸ New 1k · 2 seeds"), full)
    assert len(kept) == inputs.MAX_OPEN_GROUPS and kept[-1] == "new" and "g0" not in kept


@pytest.mark.parametrize(
    ("check", "value", "words"),
    [
        (inputs.expanded_groups, "abc", "the table's open groups must be a list"),
        (inputs.expanded_groups, {"a": 1}, "the table's open groups must be a list"),
        (inputs.expanded_groups, 5, "the table's open groups must be a list"),
        (inputs.expanded_groups, ["x"] * 2000, "has 2,000 items; at most 1,000"),
        (inputs.expanded_groups, [5], "an open group must be text"),
        (inputs.expanded_groups, [["a"]], "an open group must be text"),
        (inputs.expanded_groups, ["x" * 5000], "an open group is 5,000 characters"),
        (inputs.cell_click, "run", "the table's clicked cell must be an object"),
        (inputs.cell_click, ["run"], "the table's clicked cell must be an object"),
        (inputs.cell_click, {str(k): k for k in range(50)}, "has 50 keys"),
        (inputs.cell_click, {"colId": ["run"]}, "the clicked column must be text"),
        (inputs.cell_click, {"rowId": 5}, "the clicked row must be text"),
        (inputs.cell_click, {"rowId": "x" * 5000}, "the clicked row is 5,000 characters"),
        (inputs.cell_click, {"value": {"a": 1}}, "value must be text or a number"),
        (inputs.cell_click, {"value": "x" * 100_000}, "the clicked cell is 100,000 characters"),
    ],
)
def test_a_forged_open_list_or_click_is_refused_in_one_line(check, value, words: str) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        check(value)
    message = str(caught.value)
    assert words in message and "\n" not in message and len(message) < 200


def test_good_open_lists_and_clicks_come_back_as_the_callbacks_use_them() -> None:
    assert inputs.expanded_groups(None) == [] and inputs.expanded_groups([]) == []
    assert inputs.expanded_groups(["a", "b", "a"]) == ["a", "b"]
    assert inputs.cell_click(None) == (None, None, None)
    assert inputs.cell_click(_click("g", "▸ G")) == ("run", "g", "▸ G")
    assert inputs.cell_click({"colId": "final", "rowId": "g", "value": 2.5}) == ("final", "g", None)


@pytest.mark.parametrize(
    ("clicked", "expanded"),
    [
        ("abc", []),
        ([1, 2], []),
        ({"colId": {"x": 1}}, []),
        (_click(MAMBA_32K, "▸ Mamba 32k · 3 seeds"), "abc"),
        (_click(MAMBA_32K, "▸ Mamba 32k · 3 seeds"), [None]),
        (_click(MAMBA_32K, "▸ Mamba 32k · 3 seeds"), ["x"] * 5000),
    ],
)
def test_a_forged_click_changes_nothing_and_says_why(said: dict, clicked, expanded) -> None:
    assert table.toggle_group(clicked, expanded) is no_update
    message = said[ids.PAGE_MESSAGE]["children"]
    assert "must be" in message or "at most" in message
    assert "\n" not in message


def test_a_forged_open_list_shows_the_groups_closed_and_says_why(said: dict, sweep: dict) -> None:
    rows = table.fill_table(sweep, None, None, None, None, {"open": MAMBA_32K})
    assert len(rows) == 4 and {r["kind"] for r in rows} == {"group"}
    assert said[ids.PAGE_MESSAGE]["children"] == (
        "the table's open groups must be a list, got {'open': 'mamba_seq32768_seeds'}"
    )
    assert [r["kind"] for r in table.fill_table(SIM, None, None, None, None, 7)] == ["run"] * 2


# ---- the highlight -------------------------------------------------------------------------


def test_a_group_row_highlights_its_band_and_a_seed_row_its_own_run(sweep: dict) -> None:
    _fig, trace_map, _drawn = figure.draw_chart(sweep, 0, "linear", "steps", None, None, None)
    rows = _by_id(table.fill_table(sweep, None, None, None, None, [MAMBA_32K]))
    assert inputs.selected_run([rows[MAMBA_32K]]) == MAMBA_32K
    patch = table.highlight_run([rows[MAMBA_32K]], trace_map).to_plotly_json()
    opacity = {
        op["location"][1]: op["params"]["value"]
        for op in patch["operations"]
        if op["location"][-1] == "opacity"
    }
    mine = [i for i, e in enumerate(trace_map) if e["run_id"] == MAMBA_32K]
    assert mine, "the group's band and mean line carry its id"
    assert {trace_map[i]["role"] for i in mine} >= {"band", "seed_mean"}
    assert all(opacity[i] != view.FADED_OPACITY for i in mine)
    others = [i for i, e in enumerate(trace_map) if e["run_id"] not in (None, MAMBA_32K)]
    assert others and all(opacity[i] == view.FADED_OPACITY for i in others)
    seed = rows["mamba_seq32768_seed2"]
    assert inputs.selected_run([seed]) == "mamba_seq32768_seed2"
    patch = table.highlight_run([seed], trace_map).to_plotly_json()
    faded = {
        op["location"][1]
        for op in patch["operations"]
        if op["location"][-1] == "opacity" and op["params"]["value"] == view.FADED_OPACITY
    }
    assert not faded & {i for i, e in enumerate(trace_map) if e["run_id"] == seed["run_id"]}
    assert faded >= set(mine)
