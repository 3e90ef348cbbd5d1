"""Callbacks called directly: what each sends to the page for given control values."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import pytest
from dash import no_update
from dash._callback_context import context_value
from dash._utils import AttributeDict

from app import data, downloads, ids, view
from app.callbacks import export, figure, source, table, toggles, url, zoom

SIM = {"kind": "simulated", "seed": 42, "steps": 1000, "lengths": [8192, 32768, 131072]}
ALL_LENGTHS = [8192, 32768, 131072]


def _operations(patch) -> list[dict]:
    return patch.to_plotly_json()["operations"]


def _assigned(patch, key: str) -> dict[int, object]:
    """trace index -> value assigned to ``data[i][key]`` (``key`` may be ``line.width``)."""
    path = key.split(".")
    return {
        op["location"][1]: op["params"]["value"]
        for op in _operations(patch)
        if op["operation"] == "Assign" and op["location"][2:] == path
    }


def _drawn(models=None, lengths=None, show=None, smoothing=0.0):
    fig, trace_map, _source = figure.draw_chart(
        SIM, smoothing, "linear", "steps", models, lengths, show
    )
    return fig, trace_map


# ---- source -------------------------------------------------------------------------------


def test_simulated_source_offers_its_models_and_lengths_all_ticked() -> None:
    out = source.load_source(
        value="simulated", seed=42, steps=200, sim_lengths=[32768, 8192], models=None, lengths=None
    )
    assert out["store"] == {"kind": "simulated", "seed": 42, "steps": 200, "lengths": [8192, 32768]}
    assert [o["label"] for o in out["length_options"]] == ["8k", "32k"]
    assert out["lengths"] == [8192, 32768]
    assert out["models"] == ["resnetbk", "mamba"]
    assert out["status"] == "4 runs · 2 models · 2 lengths · 200 steps"
    assert out["errors"] == []


def test_bad_simulation_input_is_shown_not_raised() -> None:
    out = source.load_source(
        value="simulated", seed=None, steps=200, sim_lengths=[8192], models=None, lengths=None
    )
    assert out["store"] is None
    assert "seed must be a whole number" in out["errors"][0].children


def test_unlisted_folder_is_refused_with_a_message(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("STABGRAPH_RESULTS_ROOT", str(tmp_path))
    out = source.load_source(
        value="folder:../etc", seed=0, steps=1, sim_lengths=[], models=None, lengths=None
    )
    assert out["store"] is None
    assert "not a plain folder name" in out["errors"][0].children


def test_folder_errors_are_listed_one_line_each(tmp_path: Path, monkeypatch) -> None:
    folder = tmp_path / "runs"
    folder.mkdir()
    (folder / "resnetbk_seq8192.json").write_text(
        json.dumps({"seq_len": 8192, "steps": [0, 1, 2], "loss": [3.0, 2.0, 1.0]})
    )
    (folder / "bad.json").write_text("{")
    monkeypatch.setenv("STABGRAPH_RESULTS_ROOT", str(tmp_path))
    out = source.load_source(
        value="folder:runs", seed=0, steps=1, sim_lengths=[], models=None, lengths=[32768]
    )
    assert {k: v for k, v in out["store"].items() if k != "snapshot"} == {
        "kind": "folder",
        "folder": "runs",
    }
    assert len(out["store"]["snapshot"]) == 64  # which state of the folder the page shows
    assert len(out["errors"]) == 1 and "bad.json" in out["errors"][0].children
    assert out["lengths"] == [8192]  # nothing ticked overlaps: tick everything the folder has
    assert out["status"] == "1 run · 1 model · 1 length · 3 steps · 1 not loaded"


@pytest.mark.parametrize(
    ("selected", "available", "kept"),
    [(None, [1, 2], [1, 2]), ([2, 3], [1, 2], [2]), ([3], [1, 2], [1, 2]), ([], [1, 2], [])],
)
def test_keep_selection(selected, available, kept) -> None:
    assert source.keep_selection(selected, available) == kept


# ---- figure and toggles -------------------------------------------------------------------


def test_figure_draws_every_run_and_hides_unticked_ones() -> None:
    fig, trace_map = _drawn(lengths=[8192, 131072])
    assert len(fig["data"]) == len(trace_map)
    loss = [(t, e) for t, e in zip(fig["data"], trace_map, strict=True) if e["role"] == "loss"]
    assert len(loss) == 6
    hidden = {e["seq_len"] for t, e in loss if t.get("visible") is False}
    assert hidden == {32768}
    assert "height" not in fig["layout"] and "title" not in fig["layout"]


def test_figure_without_source_says_why() -> None:
    fig, trace_map, _drawn_source = figure.draw_chart(None, 0, "linear", "steps", None, None, None)
    assert fig["data"] == [] and trace_map == []
    assert "No runs loaded" in fig["layout"]["annotations"][0]["text"]


def test_length_toggle_patches_visible_only() -> None:
    _fig, trace_map = _drawn()
    patch = toggles.toggle_traces(
        ["resnetbk", "mamba"], [8192, 131072], view.ROLE_SHOW.values(), trace_map
    )
    ops = _operations(patch)
    assert {tuple(op["location"][2:]) for op in ops} == {("visible",)}
    visible = _assigned(patch, "visible")
    for i, entry in enumerate(trace_map):
        assert (visible[i] is False) == (entry["seq_len"] == 32768), entry
    assert len(json.dumps(patch.to_plotly_json())) < 10_000


def test_unticking_a_mark_box_hides_that_role_only() -> None:
    _fig, trace_map = _drawn()
    show = [ids.SHOW_SPIKES, ids.SHOW_STABLE, ids.SHOW_RAW]  # divergence onsets off
    visible = _assigned(toggles.toggle_traces(None, None, show, trace_map), "visible")
    for i, entry in enumerate(trace_map):
        assert (visible[i] is False) == (entry["role"] == "onset")


def test_row_click_highlights_that_run_and_fades_the_rest() -> None:
    _fig, trace_map = _drawn()
    patch = table.highlight_run([{"run_id": "mamba_seq32768"}], trace_map)
    opacity, width = _assigned(patch, "opacity"), _assigned(patch, "line.width")
    for i, entry in enumerate(trace_map):
        if entry["run_id"] is None:
            assert i not in opacity
        elif entry["run_id"] == "mamba_seq32768":
            assert opacity[i] == entry["opacity"]
            if entry["role"] in ("loss", "diverged"):
                assert width[i] == view.HIGHLIGHT_WIDTH
        else:
            assert opacity[i] == view.FADED_OPACITY
    restored = table.highlight_run([], trace_map)
    assert all(v != view.FADED_OPACITY for v in _assigned(restored, "opacity").values())


# ---- zoom ---------------------------------------------------------------------------------


def _decode(array) -> np.ndarray:
    if isinstance(array, dict):
        return np.frombuffer(base64.b64decode(array["bdata"]), dtype=array["dtype"])
    return np.asarray(array)


def test_zoom_refills_curves_with_points_from_the_visible_range() -> None:
    data.clear_cache()
    big = {"kind": "simulated", "seed": 1, "steps": 100_000, "lengths": [8192]}
    fig, trace_map, _drawn_source = figure.draw_chart(big, 0, "linear", "steps", None, None, None)
    loss_index = next(i for i, e in enumerate(trace_map) if e["role"] == "loss")
    full_x = _decode(fig["data"][loss_index]["x"])
    assert full_x.size <= 2100
    relayout = {"xaxis.range[0]": 50_000, "xaxis.range[1]": 50_500}
    patch = zoom.refine_on_zoom(relayout, big, 0, "linear", "steps", trace_map)
    new_x = _assigned(patch, "x")
    zoomed = _decode(new_x[loss_index])
    assert zoomed.min() >= 49_999 and zoomed.max() <= 50_501
    assert zoomed.size == 503  # every step inside the range, plus one neighbour each side
    roles = {trace_map[i]["role"] for i in new_x}
    assert roles <= {"loss", "diverged", "raw", "grad_norm"}
    reset = zoom.refine_on_zoom({"xaxis.autorange": True}, big, 0, "linear", "steps", trace_map)
    assert np.array_equal(_decode(_assigned(reset, "x")[loss_index]), full_x)


def test_new_smoothing_keeps_the_zoomed_in_detail_but_a_new_source_does_not() -> None:
    big = {"kind": "simulated", "seed": 1, "steps": 100_000, "lengths": [8192]}
    relayout = {"xaxis.range[0]": 50_000, "xaxis.range[1]": 50_500}

    def loss_x(fig, trace_map):
        i = next(i for i, e in enumerate(trace_map) if e["role"] == "loss")
        return _decode(fig["data"][i]["x"])

    _triggered(f"{ids.SMOOTHING}.value")
    x = loss_x(*figure.draw_chart(big, 0.5, "linear", "steps", None, None, None, relayout)[:2])
    assert x.min() >= 49_999 and x.max() <= 50_501
    _triggered(f"{ids.SOURCE_STORE}.data")
    x = loss_x(*figure.draw_chart(big, 0.5, "linear", "steps", None, None, None, relayout)[:2])
    assert x.min() == 0 and x.max() == 99_999


def test_zoom_ignores_y_only_and_resize_events() -> None:
    _fig, trace_map = _drawn()
    for event in ({"yaxis.range[0]": 0, "yaxis.range[1]": 3}, {"autosize": True}, None):
        assert zoom.refine_on_zoom(event, SIM, 0, "linear", "steps", trace_map) is no_update


# ---- table --------------------------------------------------------------------------------


def test_table_rows_show_statistics_and_both_divergences() -> None:
    rows = {r["run"]: r for r in table.fill_table(SIM, None, [8192, 32768])}
    assert set(rows) == {"ResNet-BK 8k", "ResNet-BK 32k", "Mamba 8k", "Mamba 32k"}
    mamba = rows["Mamba 32k"]
    loaded = data.load_source(SIM)
    run = loaded.runs.get("mamba", 32768)
    assert mamba["nan"] == int(np.isnan(run.loss).sum()) == 5
    assert mamba["declared"] == "step 600"
    assert mamba["detected"] == f"step {loaded.detections[run.run_id].divergence_step:,}"
    assert mamba["min"] == pytest.approx(np.nanmin(run.loss), rel=1e-3)
    assert rows["ResNet-BK 8k"]["declared"] == "no"


# ---- URL ----------------------------------------------------------------------------------


def _triggered(prop_id: str) -> None:
    context_value.set(AttributeDict(triggered_inputs=[{"prop_id": prop_id, "value": None}]))


def test_url_on_load_sets_the_controls() -> None:
    _triggered(f"{ids.URL}.search")
    controls = {name: None for name in url.state.CONTROLS}
    out = url.sync_url(
        "?lengths=8192&scale=log", controls, "http://h/?lengths=8192&scale=log", [], []
    )
    assert out["search"] is no_update
    assert out["view"]["lengths"] == [8192] and out["view"]["scale"] == "log"
    assert out["view"]["models"] is None  # absent: every model
    assert out["link"] == "http://h/?lengths=8192&scale=log"


def test_control_change_writes_the_url_and_not_the_controls() -> None:
    _triggered(f"{ids.LENGTHS}.value")
    controls = url.view_from_search("") | {"lengths": [8192]}
    options = [{"value": 8192}, {"value": 32768}]
    out = url.sync_url("", controls, "http://h/", [{"value": "mamba"}], options)
    assert out["search"] == "?lengths=8192"
    assert all(v is no_update for v in out["view"].values())
    assert out["link"] == "http://h/?lengths=8192"


# ---- downloads ----------------------------------------------------------------------------


def _export(fmt: str, lengths=None):
    progress: list = []
    result = export.export_view(
        progress.append, 1, fmt, 300, SIM, None, lengths, None, 0, "linear", "steps", None
    )
    return result, progress


def test_summary_json_download_has_detection_for_the_ticked_runs() -> None:
    (download, status, css), progress = _export("json", lengths=[32768])
    body = json.loads(base64.b64decode(download["content"]))
    assert set(body["mamba"]) == {"32768"} and set(body["resnetbk"]) == {"32768"}
    assert body["mamba"]["32768"]["detection"]["diverged"] is True
    assert download["filename"] == "stabgraph_resnetbk-mamba_32k_summary.json"
    assert status.startswith(f"Saved {download['filename']}") and css == "export-status"
    assert progress[0] == (0, export.STEPS) and progress[-1] == (export.STEPS, export.STEPS)


def test_csv_download_holds_every_raw_point_with_nan_kept() -> None:
    (download, _status, _css), _ = _export("csv", lengths=[32768])
    lines = base64.b64decode(download["content"]).decode().splitlines()
    assert lines[0] == "model,seq_len,seed,label,step,loss"
    assert len(lines) == 1 + 2 * 1000
    assert sum(line.endswith(",nan") for line in lines) == 5  # Mamba 32k's NaNs
    assert lines[1].split(",")[:4] == ["resnetbk", "32768", "", ""]  # no seed: empty, not nan
    assert "nan" not in "".join(line.rsplit(",", 1)[0] for line in lines)
    assert download["filename"] == "stabgraph_resnetbk-mamba_32k_points.csv"


def test_failed_download_shows_its_error() -> None:
    (download, status, css), _ = _export("csv", lengths=[])
    assert download is None
    assert status.startswith("Download failed: no runs are ticked")
    assert css == "export-status error"


def test_figure_download_shows_only_the_ticked_lengths() -> None:
    from stabgraph_core.errors import ExportError
    from stabgraph_core.export import browser_path

    try:
        browser_path()
    except ExportError:
        pytest.skip("no Chromium for figure export")
    (download, status, _css), _ = _export("svg", lengths=[8192, 131072])
    svg = base64.b64decode(download["content"]).decode()
    assert svg.lstrip().startswith(("<svg", "<?xml"))
    assert "N=8k" in svg and "N=128k" in svg
    assert "N=32k" not in svg
    assert download["filename"] == "stabgraph_resnetbk-mamba_8k-128k.svg"
    assert status.startswith("Saved stabgraph_resnetbk-mamba_8k-128k.svg")


def test_download_names_say_what_is_in_them() -> None:
    from stabgraph_core import Run

    def run(model, n, seed=None):
        return Run(model, n, np.arange(3), np.ones(3), seed=seed)

    runs = [run("mamba", 8192), run("resnetbk", 1048576), run("mamba", 32768, seed=1)]
    assert downloads.filename("pdf", runs) == "stabgraph_mamba-resnetbk_8k-1M.pdf"
    assert downloads.filename("png", runs[:1]) == "stabgraph_mamba_8k.png"
    assert downloads.filename("json", runs) == "stabgraph_mamba-resnetbk_8k-1M_summary.json"
    many = [run(f"m{i}", 8192) for i in range(5)]
    assert downloads.filename("svg", many) == "stabgraph_5-models_8k.svg"
    odd = [Run("gpt2 (train/loss)", None, np.arange(3), np.ones(3))]
    assert downloads.filename("eps", odd) == "stabgraph_gpt2-train-loss.eps"
    assert downloads.filename("csv") == "stabgraph_points.csv"


def _stable(shapes: list) -> list:
    return [s for s in shapes if s.get("type") == "rect" and s.get("legendgroup") == "status"]


def test_stable_shading_follows_the_ticked_runs() -> None:
    from app.callbacks import figure as figure_cb
    from app.callbacks import toggles

    show = ["divergence", "spikes", "stable", "raw"]
    drawn, trace_map, _ = figure_cb.draw_chart(SIM, 0, "linear", "steps", None, None, show)
    (band,) = _stable(drawn["layout"]["shapes"])
    assert band["name"] == "All runs stable" and band["x1"] < 600  # Mamba 32k diverges
    frames = [s for s in drawn["layout"]["shapes"] if s.get("name") == "loss panel frame"]
    assert len(frames) == 2
    only = toggles.toggle_traces(["resnetbk"], None, show, trace_map, SIM, None, "steps", "auto")
    shapes = only.to_plotly_json()["operations"][-1]["params"]["value"]
    (band,) = _stable(shapes)
    assert band["x1"] == 999 and len(shapes) == 3  # ResNet-BK is stable throughout
    off = toggles.toggle_traces(None, None, ["divergence"], trace_map, SIM, None, "steps", "auto")
    shapes = off.to_plotly_json()["operations"][-1]["params"]["value"]
    assert _stable(shapes) == [] and len(shapes) == 2  # the frame stays
