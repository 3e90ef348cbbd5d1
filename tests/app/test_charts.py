"""The chart as the browser gets it: lean hover data, compact arrays, thinned marker rugs."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from app import charts

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
