"""Forged callback values: each input is checked in one place and answered with one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from dash import no_update
from dash._callback_context import context_value
from dash._utils import AttributeDict

from app import ids, inputs, state
from app.callbacks import detection as settings_cb
from app.callbacks import export, figure, source, table, toggles, url, zoom
from stabgraph_core.errors import InvalidArgumentError

SIM = {"kind": "simulated", "seed": 42, "steps": 200, "lengths": [8192, 32768]}
HUGE = "x" * 100_000


@pytest.fixture
def said() -> dict:
    """A callback context whose ``set_props`` calls land in the returned dict."""
    props: dict = {}
    context_value.set(AttributeDict(updated_props=props, triggered_inputs=[]))
    return props


def _one_line(text: str) -> str:
    assert "\n" not in text and len(text) < 200, text
    return text


# ---- the checkers ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("check", "value", "words"),
    [
        (inputs.source_value, ["simulated"], "Source must be text"),
        (inputs.source_value, 5, "Source must be text"),
        (inputs.source_value, {"a": 1}, "Source must be text"),
        (inputs.source_store, ["folder"], "source must be an object"),
        (inputs.source_store, {"kind": "folder", "folder": ["a"]}, "must be text"),
        (inputs.source_store, {"kind": ["folder"]}, "unknown source"),
        (inputs.source_store, {"kind": "simulated", "lengths": 5}, "must be a list"),
        (inputs.source_store, {"kind": "simulated", "lengths": "8192"}, "must be a list"),
        (inputs.source_store, {"kind": "simulated", "seed": 2**70}, "seed must be between"),
        (inputs.source_store, {"kind": "simulated", "steps": float("inf")}, "whole number"),
        (inputs.source_store, {"kind": "folder", "folder": HUGE}, "at most 4,096"),
        (inputs.source_store, {"kind": "folder", "folder": "x" * 300}, "not a folder name"),
        (inputs.source_store, {"kind": "folder", "folder": "a\x00b"}, "not a folder name"),
        (inputs.smoothing, "abc", "Smoothing must be a number"),
        (inputs.smoothing, [0.5], "Smoothing must be a number"),
        (inputs.smoothing, {}, "Smoothing must be a number"),
        (inputs.smoothing, 1.5, "Smoothing must be between 0 and 0.999"),
        (inputs.smoothing, True, "Smoothing must be a number"),
        (inputs.x_axis, ["steps"], "X axis must be one of steps, tokens"),
        (inputs.scale, "cubic", "Loss axis must be one of linear, log"),
        (inputs.dpi, "abc", "dpi must be a whole number"),
        (inputs.dpi, 0, "dpi must be between 1 and 1,200, got 0"),
        (inputs.x_range, "string", "the chart's zoom must be an object"),
        (inputs.x_range, {"xaxis.range": [1]}, "x-range must be two numbers"),
        (inputs.x_range, {"xaxis.range": "ab"}, "x-range must be a list"),
        (inputs.x_range, {"xaxis.range[0]": [], "xaxis.range[1]": 2}, "must be a number"),
        (inputs.lengths, 5, "Sequence lengths must be a list"),
        (inputs.lengths, "8192", "Sequence lengths must be a list"),
        (inputs.lengths, [8192, "x"], "a sequence length must be a whole number"),
        (inputs.lengths, [0], "a sequence length must be between"),
        (inputs.models, "mamba", "Models must be a list"),
        (inputs.models, [HUGE], "a model is 100,000 characters"),
        (inputs.show, ["everything"], "a Mark box must be one of"),
        (inputs.trace_map, [{"seq_len": "abc"}], "bad seq_len"),
        (inputs.trace_map, "abc", "must be a list"),
        (inputs.selected_run, [{"run_id": 5}], "must be text"),
        (inputs.selected_run, {"run_id": "a"}, "must be a list"),
        (inputs.detector_store, ["ratio"], "detection settings must be an object"),
        (inputs.detector_store, {"smooth_window": 10**9}, "unknown detection setting"),
        (inputs.detector_store, {"return_window": 10**30}, "Spike returns within must be"),
        (inputs.detector_store, {"ratio": "abc"}, "Rise above baseline must be a number"),
        (inputs.export_format, ["pdf"], "Download format must be one of"),
        (inputs.search, HUGE, "the page's address is 100,000 characters"),
        (inputs.n_clicks, -1, "clicks must be between"),
    ],
)
def test_a_bad_value_is_refused_in_one_short_line(check, value, words: str) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        check(value)
    assert words in _one_line(str(caught.value))


def test_good_values_come_back_in_the_form_the_callbacks_use() -> None:
    assert inputs.lengths([8192, "32768", 1024.0, "none"]) == [8192, 32768, 1024, "none"]
    assert inputs.lengths(None) is None and inputs.models(None) is None
    assert inputs.source_store({"kind": "simulated", "seed": "7", "lengths": [32768, 8192]}) == {
        "kind": "simulated",
        "seed": 7,
        "steps": 1000,
        "lengths": (8192, 32768),
    }
    assert inputs.smoothing(None) == 0.0 and inputs.smoothing(0) == 0.0
    assert inputs.dpi(None) == 300 and inputs.dpi(600) == 600
    assert inputs.x_range({"xaxis.range[0]": 10, "xaxis.range[1]": 2.5}) == (2.5, 10.0)
    assert inputs.x_range({"xaxis.autorange": True}) == "reset"
    assert inputs.x_range({"autosize": True}) is None
    assert inputs.x_range({"xaxis.range[0]": 3}) is None  # one end dragged: x is unchanged
    assert inputs.x_range({"xaxis.range": ["2024-01-01", "2024-02-01"]}) is None
    assert inputs.trace_map([{"run_id": "a", "seq_len": None}])[0] == {
        "run_id": "a",
        "model": None,
        "seq_len": None,
        "role": None,
        "opacity": 1.0,
        "width": None,
        "legend": False,
    }


def test_a_deep_link_with_an_out_of_range_number_is_ignored_and_the_rest_applies() -> None:
    restored = state.decode(
        "?steps=99999999999999999999999&seed=7&detect_return_window=10000000000"
    )
    assert restored == {"seed": 7}
    restored = state.decode("?lengths=8192,99999999999999999999&smoothing=0.5")
    assert restored == {"smoothing": 0.5}


# ---- the callbacks, forged -------------------------------------------------------------------


def test_a_string_length_is_refused_not_split_into_characters() -> None:
    out = source.load_source(
        value="simulated", seed=1, steps=100, sim_lengths="8192", models=None, lengths=None
    )
    assert out["store"] is None
    assert "Simulated lengths must be a list" in _one_line(out["errors"][0].children)


def test_a_list_where_the_source_name_belongs_is_answered_in_the_source_panel() -> None:
    out = source.load_source(value=["x"], seed=1, steps=100, sim_lengths=[8192], models=None,
                             lengths=None)  # fmt: skip
    assert "Source must be text" in out["errors"][0].children
    assert source.describe_choice(["x"], 1, 100, [8192]) == ("Loading…", no_update)


def test_a_huge_folder_name_is_refused_before_the_filesystem_sees_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STABGRAPH_RESULTS_ROOT", str(tmp_path))
    out = source.load_source(value="folder:" + HUGE, seed=1, steps=1, sim_lengths=[],
                             models=None, lengths=None)  # fmt: skip
    assert "at most 4,096" in out["errors"][0].children
    fig, trace_map, _drawn_source = figure.draw_chart(
        {"kind": "folder", "folder": "y" * 1000}, 0, "linear", "steps", None, None, None
    )
    assert "not a folder name" in fig["layout"]["annotations"][0]["text"]
    assert trace_map == []


@pytest.mark.parametrize(
    "args",
    [
        {"smoothing": "abc"},
        {"smoothing": [0.5]},
        {"smoothing": {}},
        {"x_axis": ["steps"]},
        {"scale": 5},
        {"lengths": 5},
        {"models": {"a": 1}},
        {"show": "raw"},
        {"relayout": {"xaxis.range": [1]}},
        {"detector": [1]},
        {"source": ["simulated"]},
    ],
)
def test_the_chart_shows_what_is_wrong_instead_of_failing(args: dict) -> None:
    call = {"source": SIM, "smoothing": 0, "scale": "linear", "x_axis": "steps",
            "models": None, "lengths": None, "show": None, "relayout": None,
            "detector": None} | args  # fmt: skip
    context_value.set(AttributeDict(triggered_inputs=[{"prop_id": "smoothing.value"}]))
    fig, trace_map, _drawn_source = figure.draw_chart(**call)
    assert fig["data"] == [] and trace_map == []
    _one_line(fig["layout"]["annotations"][0]["text"])


def test_patching_callbacks_leave_the_chart_and_say_why_on_the_page(said: dict) -> None:
    fig, trace_map, _drawn_source = figure.draw_chart(SIM, 0, "linear", "steps", None, None, None)
    assert toggles.toggle_traces(None, 5, None, trace_map) is no_update
    assert "Sequence lengths must be a list" in said[ids.PAGE_MESSAGE]["children"]
    assert toggles.toggle_traces(None, None, None, [{"opacity": "x"}]) is no_update
    assert "bad opacity" in said[ids.PAGE_MESSAGE]["children"]
    assert table.highlight_run("abc", trace_map) is no_update
    assert "selection must be a list" in said[ids.PAGE_MESSAGE]["children"]
    assert zoom.refine_on_zoom("string", SIM, 0, "linear", "steps", trace_map) is no_update
    assert "zoom must be an object" in said[ids.PAGE_MESSAGE]["children"]
    assert zoom.refine_on_zoom({"xaxis.range": [1]}, SIM, 0, "linear", "steps", trace_map) is (
        no_update
    )
    assert "two numbers" in said[ids.PAGE_MESSAGE]["children"]
    assert table.fill_table(SIM, None, "8192") == []
    assert "Sequence lengths must be a list" in said[ids.PAGE_MESSAGE]["children"]
    _one_line(said[ids.PAGE_MESSAGE]["children"])


def test_a_forged_download_is_refused_under_the_button() -> None:
    def export_with(**changes):
        call = {"set_progress": lambda _: None, "n_clicks": 1, "fmt": "csv", "dpi": 300,
                "source": SIM, "models": None, "lengths": None, "show": None,
                "smoothing": 0, "scale": "linear", "x_axis": "steps", "relayout": None,
                "detector": None} | changes  # fmt: skip
        return export.export_view(**call)

    download, status, css = export_with(dpi=0)
    assert download is None and "dpi must be between 1 and 1,200, got 0" in status
    assert "error" in css
    forged = [{"dpi": "abc"}, {"fmt": ["pdf"]}, {"relayout": "string"}, {"lengths": 5},
              {"n_clicks": "x"}, {"source": {"kind": "simulated", "lengths": "8192"}}]  # fmt: skip
    for bad in forged:
        download, status, _css = export_with(**bad)
        assert download is None and _one_line(status).startswith("Download failed: ")
    download, status, _css = export_with()
    assert download is not None and status.startswith("Saved stabgraph_")
    assert download["filename"].endswith("_points.csv")


def test_forged_detection_settings_are_answered_beside_the_inputs(said: dict) -> None:
    values = {s.key: s.default for s in settings_cb.detection.SETTINGS}
    out = settings_cb.apply_settings(values | {"detect_ratio": "a" * 10_000}, {})
    assert out["applied"] is no_update
    assert "Rise above baseline must be a number" in _one_line(out["message"])
    out = settings_cb.apply_settings(values | {"detect_return_window": 10**40}, {})
    assert "Spike returns within must be between" in _one_line(out["message"])
    out = settings_cb.apply_settings(values, ["x"])
    assert "detection settings must be an object" in out["message"]
    assert settings_cb.reset_settings("x") == {
        s.key: no_update for s in settings_cb.detection.SETTINGS
    }
    assert "clicks must be a whole number" in said[ids.DETECT_MESSAGE]["children"]


def test_a_forged_url_sync_changes_nothing_and_says_why(said: dict) -> None:
    said.clear()
    context_value.set(
        AttributeDict(updated_props=said, triggered_inputs=[{"prop_id": "smoothing.value"}])
    )
    view = {name: state.DEFAULTS[name] for name in state.CONTROLS}
    for bad in ({"smoothing": "abc"}, {"seed": [1]}, {"lengths": "8192"}):
        out = url.sync_url("", view | bad, "http://h/", [], [])
        assert out["search"] is no_update and out["link"] is no_update
        _one_line(said[ids.PAGE_MESSAGE]["children"])
    out = url.sync_url("", view, "http://h/", "abc", [])
    assert "Models must be a list" in said[ids.PAGE_MESSAGE]["children"]
    out = url.sync_url(["?a"], view, "http://h/", [], [])
    assert "the page's address must be text" in said[ids.PAGE_MESSAGE]["children"]


def test_a_deep_link_with_a_huge_number_still_syncs_the_rest(said: dict) -> None:
    context_value.set(AttributeDict(updated_props=said, triggered_inputs=[]))
    search = "?steps=99999999999999999999999&scale=log"
    out = url.sync_url(search, {name: None for name in state.CONTROLS}, "http://h/" + search,
                       [], [])  # fmt: skip
    assert out["view"]["steps"] == state.DEFAULTS["steps"]
    assert out["view"]["scale"] == "log"
    json.dumps(out["view"])  # every value fits JSON (orjson refuses integers past 64 bits)
