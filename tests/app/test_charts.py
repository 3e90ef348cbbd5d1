"""The chart as the browser gets it: lean hover data, compact arrays, thinned marker rugs."""

from __future__ import annotations

import json

import numpy as np
import plotly.graph_objects as go
import pytest
from _plotly_utils.utils import to_typed_array_spec
from plotly.utils import PlotlyJSONEncoder

from app import charts, data
from stabgraph_core.figure import build_figure, figure_dict

TEMPLATE = "step %{customdata[0]:,}<br>loss %{customdata[1]:.4g}<br>smoothed %{customdata[2]:.4g}"


def _curve() -> go.Figure:
    steps = np.arange(5)
    raw = np.array([4.0, 3.0, 2.0, 1.5, 1.0])
    smoothed = raw * 0.9
    custom = np.column_stack((steps, raw, smoothed))
    return go.Figure(go.Scatter(x=steps, y=smoothed, customdata=custom, hovertemplate=TEMPLATE))


def test_without_smoothing_hover_reads_x_and_y_and_sends_no_customdata() -> None:
    fig = _curve()
    charts.lean_hover(fig, smoothing=0.0, x_axis="steps")
    trace = fig.data[0]
    assert trace.customdata is None
    assert trace.hovertemplate == "step %{x:,}<br>loss %{y:.4g}<br>smoothed %{y:.4g}"


def test_with_smoothing_only_the_raw_loss_stays_in_customdata() -> None:
    fig = _curve()
    charts.lean_hover(fig, smoothing=0.6, x_axis="steps")
    trace = fig.data[0]
    assert trace.hovertemplate == ("step %{x:,}<br>loss %{customdata[0]:.4g}<br>smoothed %{y:.4g}")
    assert np.array_equal(np.asarray(trace.customdata)[:, 0], [4.0, 3.0, 2.0, 1.5, 1.0])


def test_tokens_axis_keeps_the_step_column() -> None:
    fig = _curve()
    charts.lean_hover(fig, smoothing=0.0, x_axis="tokens")
    assert "%{customdata[0]:,}" in fig.data[0].hovertemplate
    assert np.asarray(fig.data[0].customdata).shape == (5, 1)


def test_unknown_template_is_left_as_built() -> None:
    fig = _curve()
    fig.data[0].hovertemplate = "%{customdata[3]} odd"
    charts.lean_hover(fig, smoothing=0.0, x_axis="steps")
    assert fig.data[0].hovertemplate == "%{customdata[3]} odd"
    assert np.asarray(fig.data[0].customdata).shape == (5, 3)


def test_float_arrays_go_out_as_float32_without_overflowing_to_inf() -> None:
    fig = go.Figure(go.Scatter(x=np.arange(3, dtype=np.int64), y=np.array([1.0, 1e300, np.nan])))
    charts.compact_arrays(fig)
    assert fig.data[0].x.dtype.kind == "i"
    y = fig.data[0].y
    assert y.dtype == np.float32 and np.isfinite(y[1]) and np.isnan(y[2])


def _through_plotly(loaded, smoothing: float, log_y: bool, x_range) -> dict:
    """The chart built the slow way: a validated-free go.Figure edited and copied out."""
    options = charts.options_for(loaded, smoothing=smoothing, log_y=log_y, x_range=x_range)
    fig = build_figure(loaded.runs, options, detections=loaded.detections)
    charts.lean_hover(fig, smoothing=smoothing, x_axis="steps")
    charts.compact_arrays(fig)
    fig.update_layout(autosize=True, margin={"t": 24, "r": 12}, uirevision=loaded.choice.label)
    out = fig.to_dict()
    for key in ("width", "height", "title"):
        out["layout"].pop(key, None)
    for trace in out["data"]:  # the chart leaves an empty customdata out (null breaks hover)
        if "customdata" in trace and trace["customdata"] is None:
            del trace["customdata"]
    return out


@pytest.mark.parametrize(
    ("smoothing", "log_y", "x_range"),
    [(0.0, False, None), (0.6, True, None), (0.6, False, (300.0, 900.0))],
)
def test_the_chart_dict_is_exactly_what_plotly_would_send(smoothing, log_y, x_range) -> None:
    data.clear_cache()
    loaded = data.load_source(
        {"kind": "simulated", "seed": 7, "steps": 6000, "lengths": [8192, 131072]}
    )
    charts.clear_cache()
    got = charts.chart(loaded, smoothing, log_y, "steps", x_range)
    expected = _through_plotly(loaded, smoothing, log_y, x_range)
    dump = {"cls": PlotlyJSONEncoder, "sort_keys": True}
    assert json.dumps(got, **dump) == json.dumps(expected, **dump)
    assert any(isinstance(t.get("y"), dict) and "bdata" in t["y"] for t in got["data"])
    data.clear_cache()


@pytest.mark.parametrize(
    "values",
    [
        np.array([1, -2, 300], dtype=np.int64),
        np.array([1, 70_000], dtype=np.int64),
        np.array([2**40], dtype=np.int64),
        np.array([1, 2**20], dtype=np.uint64),
        np.array([[1.5, 2.5], [3.5, np.nan]], dtype=np.float32),
        np.array([True, False]),
        np.empty(0),
    ],
)
def test_arrays_are_encoded_as_plotly_encodes_them(values: np.ndarray) -> None:
    got = charts._typed_array(values)
    expected = to_typed_array_spec(values)
    if isinstance(expected, dict):
        assert got == expected
    else:
        assert isinstance(got, np.ndarray) and np.array_equal(got, expected)


def test_home_view_is_the_whole_run_with_the_capped_axis_even_when_zoomed() -> None:
    from app import charts, data

    loaded = data.load_source({"kind": "simulated", "seed": 42, "steps": 300, "lengths": [8192]})
    whole = charts.chart(loaded, 0.0, False, "steps")
    zoomed = charts.chart(loaded, 0.0, False, "steps", (100.0, 150.0))
    home = whole["layout"]["meta"]["home"]
    assert home == {"xaxis": [0.0, 299.0], "yaxis": whole["layout"]["yaxis"]["range"]}
    assert zoomed["layout"]["xaxis"]["range"] == [100.0, 150.0]
    assert zoomed["layout"]["meta"]["home"] == home


def test_the_page_keeps_a_long_legend_readable_and_a_download_fits_it() -> None:
    from types import SimpleNamespace

    from stabgraph_core import Run, RunSet

    steps = np.arange(20)
    runs = [Run(f"run{i}", None, steps, np.linspace(3, 2, 20)) for i in range(24)]
    loaded = SimpleNamespace(runs=RunSet(runs))  # all options_for reads of a source
    page = charts.options_for(loaded)  # the chart's legend scrolls on the page
    download = charts.options_for(loaded, max_points=None)
    assert figure_dict(runs, page)["layout"]["legend"]["font"]["size"] == 13
    assert figure_dict(runs, download)["layout"]["legend"]["font"]["size"] < 13
