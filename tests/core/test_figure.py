"""The figure builder: traces, colours, markers, caps and options, checked on the figure object."""

from __future__ import annotations

import json
import math

import numpy as np
import plotly.graph_objects as go
import pytest
from plotly.utils import PlotlyJSONEncoder

from stabgraph_core import Run, simulate
from stabgraph_core.detect import Detection, Spike, detect_run
from stabgraph_core.errors import InvalidArgumentError
from stabgraph_core.figure import (
    DIVERGENCE_COLOR,
    HEIGHT_PX,
    MODEL_COLORS,
    RUG_MAX_STRETCHES,
    STABLE_COLOR,
    WIDTH_PX,
    FigureOptions,
    build_figure,
    clear_cache,
    default_title,
    figure_dict,
)
from stabgraph_core.smoothing import smooth

ROLES = {"raw", "loss", "diverged", "onset", "spikes", "nonfinite", "offchart", "key"}
ROLES |= {"grad_norm", "grad_spikes"}  # the gradient-norm panel


def _bands(fig) -> list:
    """The stable band's shapes (the gradient-norm panel adds the loss panel's frame lines)."""
    return [s for s in fig.layout.shapes if s.legendgroup == "status"]


@pytest.fixture(scope="module")
def reference_runs():
    """The old script's simulated runs: 2 models x 5 lengths, Mamba diverging from 32k on."""
    return simulate()


@pytest.fixture(scope="module")
def reference_figure(reference_runs):
    return build_figure(reference_runs)


def by_role(fig: go.Figure, role: str) -> list:
    return [t for t in fig.data if t.meta["role"] == role]


def rug_spans(trace) -> np.ndarray:
    """(first, last) step of each segment of a NaN/Inf rug (points come as start, end, gap)."""
    custom = np.asarray(trace.customdata, dtype=np.float64)
    return custom[0::3, :2].astype(np.int64)


def rug_steps(trace, steps: np.ndarray) -> np.ndarray:
    """The steps a NaN/Inf rug covers."""
    covered = np.zeros(steps.size, dtype=bool)
    for first, last in rug_spans(trace):
        covered |= (steps >= first) & (steps <= last)
    return steps[covered]


def test_every_trace_is_a_vector_scatter_with_meta(reference_figure, reference_runs):
    run_ids = {r.run_id for r in reference_runs}
    for trace in reference_figure.data:
        assert trace.type == "scatter"  # never scattergl: it becomes a bitmap in PDF/SVG
        assert set(trace.meta) == {"run_id", "model", "seq_len", "seed", "role"}
        assert trace.meta["role"] in ROLES
        if trace.meta["role"] != "key":
            assert trace.meta["run_id"] in run_ids
    # what Plotly's own validation accepts: the skipped validation hides no error
    go.Figure(reference_figure.to_dict())


def test_curves_are_numpy_and_coloured_by_model(reference_figure, reference_runs):
    loss = by_role(reference_figure, "loss")
    assert len(loss) == len(reference_runs)
    for trace in loss:
        assert isinstance(trace.x, np.ndarray) and isinstance(trace.y, np.ndarray)
        assert _hue(trace.line.color) == pytest.approx(
            _hue(MODEL_COLORS[trace.meta["model"]]), abs=0.01
        )
    assert {t.line.color for t in by_role(reference_figure, "diverged")} == {DIVERGENCE_COLOR}


def _hue(color: str) -> float:
    import colorsys

    r, g, b = (int(color[i : i + 2], 16) / 255 for i in (1, 3, 5))
    return colorsys.rgb_to_hls(r, g, b)[0]


def _lightness(color: str) -> float:
    import colorsys

    r, g, b = (int(color[i : i + 2], 16) / 255 for i in (1, 3, 5))
    return colorsys.rgb_to_hls(r, g, b)[1]


def test_lengths_part_by_lightness_within_the_model_hue(reference_figure):
    for model, base in MODEL_COLORS.items():
        lines = sorted(
            (t.meta["seq_len"], t.line.color)
            for t in by_role(reference_figure, "loss")
            if t.meta["model"] == model
        )
        light = [_lightness(c) for _, c in lines]
        assert light == sorted(light) and len(set(light)) == 5  # 8k darkest ... 1M lightest
        assert dict(lines)[131072] == base  # the middle length keeps the reference colour
    keys = [t for t in reference_figure.data if t.meta["role"] == "key" and t.meta["seq_len"]]
    assert len({t.line.color for t in keys}) == 5  # the legend shows the lightness too


def test_each_length_has_its_own_dash_and_label(reference_figure):
    dashes = {t.meta["seq_len"]: t.line.dash for t in by_role(reference_figure, "loss")}
    assert len(set(dashes.values())) == 5
    keys = [t for t in by_role(reference_figure, "key") if t.legendgroup == "length"]
    assert [t.name for t in keys] == ["N=8k", "N=32k", "N=128k", "N=512k", "N=1M"]
    assert [t.line.dash for t in keys] == [dashes[n] for n in sorted(dashes)]


def test_curve_turns_orange_at_the_declared_onset(reference_figure, reference_runs):
    """Simulated runs declare their onset; the figure marks it, as the summary reports it."""
    for run in reference_runs:
        diverged = [
            t for t in by_role(reference_figure, "diverged") if t.meta["run_id"] == run.run_id
        ]
        if not run.diverged:
            assert diverged == []
            continue
        (after,) = diverged
        (before,) = [t for t in by_role(reference_figure, "loss") if t.meta["run_id"] == run.run_id]
        assert after.x[0] == run.divergence_step == before.x[-1]
        assert after.x[-1] == run.steps[-1]


def test_undeclared_runs_use_the_detected_onset():
    steps = np.arange(400)
    loss = np.where(steps < 250, 3.0 - steps / 250, 2.0 * np.exp((steps - 250) / 40.0))
    run = Run("mamba", 32768, steps, loss)
    found = detect_run(run)
    assert found.diverged
    (after,) = by_role(build_figure([run]), "diverged")
    assert after.x[0] == found.divergence_step


def test_declared_stable_run_gets_no_onset_even_if_detection_disagrees():
    steps = np.arange(100)
    run = Run("mamba", 8192, steps, np.linspace(2.0, 1.0, 100), diverged=False)
    found = Detection(True, 50, "test onset")
    fig = build_figure([run], detections={run.run_id: found})
    assert by_role(fig, "diverged") == [] and by_role(fig, "onset") == []


def test_every_onset_gets_a_marker_and_a_label(reference_figure, reference_runs):
    onsets = by_role(reference_figure, "onset")
    diverged = [r for r in reference_runs if r.diverged]
    assert len(onsets) == len(diverged) == 4
    labels = {t.text[1] for t in onsets}
    for run in diverged:
        step = run.divergence_step
        assert any(
            label.startswith(f"N={run.display_name.split()[-1]}") and f"{step:,}" in label
            for label in labels
        )
    assert all(t.marker.symbol[0] == "x" and math.isfinite(t.y[0]) for t in onsets)


def test_onset_on_a_nan_step_is_placed_at_the_nearest_finite_value():
    steps = np.arange(100)
    loss = np.linspace(3.0, 1.0, 100)
    loss[60:63] = np.nan
    run = Run("mamba", 32768, steps, loss)
    found = Detection(True, 61, "test onset", first_nonfinite_step=60)
    fig = build_figure([run], detections={run.run_id: found})
    (onset,) = by_role(fig, "onset")
    assert onset.x[0] == 61
    assert onset.y[0] == pytest.approx(loss[59])  # 59 and 63 are equally near: the earlier


def test_given_detections_are_used_instead_of_detecting():
    steps = np.arange(200)
    run = Run("resnetbk", 8192, steps, np.linspace(4, 1, 200))
    spike = Spike(start=40, peak=45, end=50)
    found = Detection(True, 150, "made up", spikes=(spike,), stable_regions=((0, 149),))
    fig = build_figure([run], detections={run.run_id: found})
    assert by_role(fig, "diverged")[0].x[0] == 150
    assert by_role(fig, "spikes")[0].x.tolist() == [45]
    (band,) = _bands(fig)  # stable up to its onset, and only there
    assert (band.x0, band.x1) == (0, 149)


def test_stable_band_covers_the_steps_where_every_run_is_stable(reference_figure, reference_runs):
    (band,) = _bands(reference_figure)
    assert reference_figure.layout.meta["stable_models"] == ["resnetbk", "mamba"]
    first = min(r.divergence_step for r in reference_runs if r.diverged)
    assert band.x0 == 0 and band.x1 < first  # ends before the first divergence
    assert (band.yref, band.y0, band.y1) == ("y domain", 0, 1)
    assert band.layer == "below"  # under the grid lines, so they stay visible
    assert band.showlegend and band.name == "All runs stable"
    # an opaque tint of the stable colour #06A77D (EPS has no transparency)
    r, g, b = (int(band.fillcolor[i : i + 2], 16) for i in (1, 3, 5))
    assert g > r and g > b and min(r, g, b) > 200
    assert STABLE_COLOR == "#06A77D"


def test_nothing_drawn_is_translucent(reference_runs):
    fig = build_figure(reference_runs, FigureOptions(smoothing=0.8))
    text = fig.to_json()
    assert "rgba" not in text
    for trace in fig.data:
        assert trace.opacity in (None, 1)
        assert trace.marker.opacity in (None, 1)


def test_nan_and_inf_are_markers_at_the_top_with_counts(reference_figure, reference_runs):
    marks = {t.meta["run_id"]: t for t in by_role(reference_figure, "nonfinite")}
    for run in reference_runs:
        bad = run.steps[~np.isfinite(run.loss)]
        if bad.size == 0:
            assert run.run_id not in marks
            continue
        trace = marks[run.run_id]
        assert np.array_equal(rug_steps(trace, run.steps), bad)
        assert trace.yaxis == "y2" and np.all(trace.y[np.isfinite(trace.y)] > 0.85)
        assert f"{bad.size} NaN" in trace.name
    inf_run = Run("mamba", 8192, np.arange(5), np.array([1.0, np.inf, 2.0, np.nan, -np.inf]))
    (trace,) = by_role(build_figure([inf_run]), "nonfinite")
    assert "1 NaN, 2 Inf" in trace.name


def test_a_long_overflow_is_one_rug_segment_with_its_counts():
    steps = np.arange(1_000_000)
    loss = 3.0 * np.exp(-steps / 2e5) + 0.5
    loss[40_000:1_000_000] = np.inf
    loss[[100, 101, 5_000]] = np.nan
    run = Run("mamba", 1048576, steps, loss)
    found = Detection(True, 40_000, "overflow", first_nonfinite_step=40_000)
    fig = build_figure([run], FigureOptions(max_points=2000), {run.run_id: found})
    (trace,) = by_role(fig, "nonfinite")
    assert rug_spans(trace).tolist() == [[100, 101], [5_000, 5_000], [40_000, 999_999]]
    custom = np.asarray(trace.customdata)[0::3]
    assert custom[:, 2].tolist() == [2, 1, 0] and custom[:, 3].tolist() == [0, 0, 960_000]
    assert "3 NaN, 960000 Inf" in trace.name
    assert len(fig.to_json()) < 200_000


def test_many_separate_nans_are_merged_into_a_bounded_rug():
    steps = np.arange(20_000)
    loss = np.linspace(3.0, 1.0, steps.size)
    loss[::4] = np.nan  # 5,000 separate NaN steps
    run = Run("gpt2", None, steps, loss)
    found = Detection(False, None, "noisy")
    for max_points in (None, 300):
        fig = build_figure([run], FigureOptions(max_points=max_points), {run.run_id: found})
        (trace,) = by_role(fig, "nonfinite")
        spans = rug_spans(trace)
        assert len(spans) <= min(max_points or RUG_MAX_STRETCHES, RUG_MAX_STRETCHES)
        assert spans[0, 0] == 0 and spans[-1, 1] == 19_996
        assert np.all(spans[1:, 0] > spans[:-1, 1])  # in order, not overlapping
        assert np.asarray(trace.customdata)[0::3, 2].sum() == 5_000  # every NaN counted once
        assert "5000 NaN" in trace.name


def test_exploded_losses_are_capped_with_an_off_chart_marker(reference_figure, reference_runs):
    top = reference_figure.layout.yaxis.range[1]
    assert top == 10  # the reference's 0-10 for these runs
    off = {t.meta["run_id"] for t in by_role(reference_figure, "offchart")}
    exploding = {r.run_id for r in reference_runs if np.nanmax(r.loss) > top}
    assert off == exploding and len(off) == 4


def test_one_wild_point_in_a_healthy_run_does_not_set_the_scale():
    steps = np.arange(1000)
    loss = 3.0 * np.exp(-steps / 300) + 0.5
    loss[500] = 1e5
    run = Run("gpt2", None, steps, loss)
    found = Detection(False, None, "healthy", stable_regions=((0, 999),))
    fig = build_figure([run], detections={run.run_id: found})
    assert fig.layout.yaxis.range[1] <= 10
    assert len(by_role(fig, "offchart")) == 1


def test_log_y_shows_everything_without_a_cap(reference_runs):
    fig = build_figure(reference_runs, FigureOptions(log_y=True))
    assert fig.layout.yaxis.type == "log"
    assert by_role(fig, "offchart") == []
    top = fig.layout.yaxis.range[1]
    assert top > math.log10(
        np.nanmax(np.concatenate([r.loss[np.isfinite(r.loss)] for r in reference_runs]))
    )


def test_smoothing_draws_the_ema_and_the_raw_loss_faintly(reference_runs):
    fig = build_figure(reference_runs, FigureOptions(smoothing=0.9, lengths=[8192]))
    raw = by_role(fig, "raw")
    assert len(raw) == 2
    assert [t.line.color for t in raw] == ["#C0DBE6", "#E3C4D5"]  # 30% tints of the model colours
    run = reference_runs.get("resnetbk", 8192)
    (curve,) = [t for t in by_role(fig, "loss") if t.meta["run_id"] == run.run_id]
    np.testing.assert_allclose(curve.y, smooth(run.loss, 0.9))
    assert "smoothed" in curve.hovertemplate and "step" in curve.hovertemplate


def test_hover_names_model_length_and_seed():
    run = Run("mamba", 131072, np.arange(10), np.linspace(2, 1, 10), seed=3)
    (curve,) = by_role(build_figure([run]), "loss")
    assert "Mamba 128k" in curve.hovertemplate and "seed 3" in curve.hovertemplate
    assert curve.customdata.shape == (10, 3)  # step, raw, smoothed
    assert "smoothed" not in curve.hovertemplate  # the same value twice says nothing
    (smoothed,) = by_role(build_figure([run], FigureOptions(smoothing=0.5)), "loss")
    assert "smoothed %{customdata[2]" in smoothed.hovertemplate


def test_models_and_lengths_select_runs(reference_runs):
    fig = build_figure(reference_runs, FigureOptions(models=["mamba"], lengths=[32768, 8192]))
    assert {(t.meta["model"], t.meta["seq_len"]) for t in by_role(fig, "loss")} == {
        ("mamba", 32768),
        ("mamba", 8192),
    }


def test_tokens_axis_uses_the_tokens_series():
    steps = np.arange(50)
    tokens = np.where(steps % 2 == 0, steps * 4096.0, np.nan)  # logged every other step
    run = Run("mamba", 4096, steps, np.linspace(3, 1, 50), extra={"tokens": tokens})
    fig = build_figure([run], FigureOptions(x_axis="tokens"))
    (curve,) = by_role(fig, "loss")
    np.testing.assert_allclose(curve.x, steps * 4096.0)
    assert fig.layout.xaxis.title.text == "Tokens Seen"
    bare = Run("mamba", 8192, steps, np.ones(50))
    with pytest.raises(InvalidArgumentError, match="tokens"):
        build_figure([run, bare], FigureOptions(x_axis="tokens"))


def test_max_points_and_x_range_limit_the_points_drawn():
    steps = np.arange(100_000)
    loss = 2.0 + np.sin(steps / 50.0)
    run = Run("resnetbk", 8192, steps, loss)
    found = Detection(False, None, "healthy", stable_regions=((0, 99_999),))
    fig = build_figure([run], FigureOptions(max_points=1000), {run.run_id: found})
    assert len(by_role(fig, "loss")[0].x) <= 1000
    zoom = build_figure(
        [run], FigureOptions(max_points=1000, x_range=(20_000, 21_000)), {run.run_id: found}
    )
    x = by_role(zoom, "loss")[0].x
    assert x[0] == 19_999 and x[-1] == 21_001
    assert list(zoom.layout.xaxis.range) == [20_000, 21_000]


def test_other_models_get_their_own_colours():
    runs = [Run(m, 8192, np.arange(5), np.ones(5) * i) for i, m in enumerate(["a", "b", "mamba"])]
    colors = [t.line.color for t in by_role(build_figure(runs), "loss")]
    assert len(set(colors)) == 3
    assert colors[2] == MODEL_COLORS["mamba"]
    assert not set(colors[:2]) & {*MODEL_COLORS.values(), DIVERGENCE_COLOR, STABLE_COLOR}


def test_layout_is_a_12_by_7_inch_serif_figure_with_the_reference_title(
    reference_figure, reference_runs
):
    layout = reference_figure.layout
    assert (layout.width, layout.height) == (WIDTH_PX, HEIGHT_PX) == (1152, 672)
    assert "serif" in layout.font.family
    assert layout.title.text == (
        "Long-Context Stability: ResNet-BK vs Mamba<br>Sequence Lengths: 8k to 1M tokens"
    )
    assert default_title(list(reference_runs)) == layout.title.text
    assert layout.xaxis.title.text == "Training Step" and layout.yaxis.title.text == "Loss"
    custom = build_figure(reference_runs, FigureOptions(title="My runs", lengths=[8192]))
    assert custom.layout.title.text == "My runs"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"smoothing": 1.0}, "smoothing"),
        ({"models": "mamba"}, "collection"),
        ({"x_axis": "time"}, "x axis"),
        ({"max_points": 2}, "at least 3"),
        ({"x_range": (5, 5)}, "x range"),
        ({"y_cap": -1}, "y cap"),
    ],
)
def test_bad_options_fail_when_built(options, message):
    with pytest.raises(InvalidArgumentError, match=message):
        FigureOptions(**options)


def test_runs_that_never_diverge_are_stable_everywhere(reference_runs):
    fig = build_figure(reference_runs, FigureOptions(lengths=[8192]))
    (band,) = _bands(fig)
    assert band.name == "All runs stable" and (band.x0, band.x1) == (0, 999)
    assert fig.layout.meta["stable_models"] == ["resnetbk", "mamba"]
    (alone,) = _bands(
        build_figure(reference_runs, FigureOptions(models=["resnetbk"], lengths=[8192]))
    )
    assert alone.name == "ResNet-BK 8k stable"
    assert _bands(build_figure(reference_runs, FigureOptions(show_stable=False))) == []


def test_legend_reads_status_then_lengths_then_non_finite(reference_figure):
    entries = sorted(
        (t.legendrank, t.legendgroup, t.name) for t in reference_figure.data if t.showlegend
    )
    (band,) = _bands(reference_figure)
    groups = list(dict.fromkeys(group for _, group, _ in entries))
    assert groups == ["status", "length", "nonfinite"]
    status = [name for _, group, name in entries if group == "status"]
    assert status[:2] == ["ResNet-BK", "Mamba"]
    assert status[2] == "After divergence onset" and band.legendrank < entries[2][0]


def test_long_run_names_keep_the_title_and_legend_narrow():
    names = [f"gpt2_variant_{i}_with_a_very_long_wandb_run_name_{i:04d}" for i in range(5)]
    runs = [Run(n, None, np.arange(20), np.linspace(3, 1, 20)) for n in names]
    fig = build_figure(runs)
    assert fig.layout.title.text == "Training Stability: 5 runs"
    more = runs + [Run(names[0], 8192, np.arange(20), np.linspace(3, 1, 20))]
    assert default_title(more).startswith("Training Stability: 6 runs of 5 models")
    keys = [t.name for t in by_role(fig, "key") if t.meta["model"]]
    assert len(keys) == 5 and all(len(k) <= 32 and k.endswith("\u2026") for k in keys)
    (curve, *_) = by_role(fig, "loss")
    assert names[0] in curve.hovertemplate  # hover keeps the whole name


def test_a_zoomed_view_has_the_same_traces_and_cap_as_the_whole(reference_runs):
    whole = build_figure(reference_runs, FigureOptions(max_points=60))
    zoomed = build_figure(reference_runs, FigureOptions(max_points=60, x_range=(100, 220)))
    tags = [[(t.meta["run_id"], t.meta["role"]) for t in f.data] for f in (whole, zoomed)]
    assert tags[0] == tags[1]  # the app swaps point arrays trace by trace on zoom
    assert whole.layout.meta["y_top"] == zoomed.layout.meta["y_top"] == 10


def test_smoothed_curve_over_raw_gets_half_the_point_budget(reference_runs):
    fig = build_figure(reference_runs, FigureOptions(smoothing=0.6, max_points=200))
    for run in reference_runs:
        raw = [t for t in by_role(fig, "raw") if t.meta["run_id"] == run.run_id]
        drawn = [t for t in fig.data if t.meta["run_id"] == run.run_id]
        line = sum(len(t.x) for t in drawn if t.meta["role"] in ("loss", "diverged"))
        assert 90 <= line <= 100 + 2 + 1  # half the budget, the onset shared by both parts
        assert 150 <= len(raw[0].x) <= 200 + 10


def test_a_loss_exploding_downwards_does_not_flatten_the_chart():
    steps = np.arange(1000)
    loss = 3.0 * np.exp(-steps / 300) + 0.5
    loss[700:] = -1e304
    run = Run("mamba", 8192, steps, loss)
    found = Detection(True, 700, "exploded")
    fig = build_figure([run], detections={run.run_id: found})
    assert fig.layout.yaxis.range[0] == 0 and fig.layout.yaxis.range[1] <= 10


def _frozen(run: Run) -> Run:
    """``run`` with read-only arrays, as the app holds its loaded runs."""
    steps, loss = run.steps.copy(), run.loss.copy()
    steps.flags.writeable = loss.flags.writeable = False
    frozen = run.with_(steps=steps, loss=loss)
    assert not frozen.loss.flags.writeable
    return frozen


@pytest.mark.parametrize(
    "options",
    [
        FigureOptions(max_points=300),
        FigureOptions(max_points=300, smoothing=0.6),
        FigureOptions(max_points=300, smoothing=0.6, log_y=True, x_range=(200.0, 700.0)),
        FigureOptions(smoothing=0.9),
    ],
)
def test_remembered_work_never_changes_the_figure(reference_runs, options):
    """Read-only runs (cached smoothing, points and scans) draw exactly what writable ones do."""
    clear_cache()
    frozen = [_frozen(r) for r in reference_runs]
    expected = build_figure(reference_runs, options).to_plotly_json()
    for _ in range(2):  # the first build fills the caches, the second reads them
        got = build_figure(frozen, options).to_plotly_json()
        assert json.dumps(got, cls=PlotlyJSONEncoder) == json.dumps(expected, cls=PlotlyJSONEncoder)
    clear_cache()


def test_figure_dict_is_what_build_figure_wraps(reference_runs):
    options = FigureOptions(max_points=300, smoothing=0.6)
    as_dict = figure_dict(reference_runs, options)
    assert [t["type"] for t in as_dict["data"]] == ["scatter"] * len(as_dict["data"])
    validated = go.Figure(as_dict).to_dict()  # every property is one Plotly knows
    built = build_figure(reference_runs, options).to_dict()
    for fig in (validated, built):  # validation fills in Plotly's default template
        fig["layout"].pop("template")
    dump = {"cls": PlotlyJSONEncoder, "sort_keys": True}
    assert json.dumps(validated, **dump) == json.dumps(built, **dump)


def test_onset_hover_says_whose_step_it_is():
    from stabgraph_core.simulation import simulate

    (onset,) = by_role(build_figure(simulate((32768,), 1000)), "onset")
    assert "diverges at step 600 (as its log declares; detected at step" in onset.hovertemplate
    steps = np.arange(400)
    loss = np.where(steps < 300, 2.0, 2.0 * 1.05 ** (steps - 300))
    (detected,) = by_role(build_figure([Run("m", 8, steps, loss)]), "onset")
    assert "(detected)" in detected.hovertemplate


def test_onset_leaders_are_ordered_not_to_cross():
    from stabgraph_core.figure._layout import _crossings, _uncrossed

    starts = {0: (0.5, 0.1), 1: (0.52, 0.3)}
    ends = [(0.3, 0.35), (0.3, 0.05)]
    assert _crossings([0, 1], starts, ends) == 1  # the x order would cross
    assert _uncrossed([0, 1], starts, ends) == [1, 0]
    assert _crossings([1, 0], starts, ends) == 0
    many = {i: (0.5 + 0.01 * i, 0.1 * (i % 3)) for i in range(8)}
    rows = [(0.3, 0.5 + 0.05 * r) for r in range(8)]
    assert sorted(_uncrossed(list(many), many, rows)) == list(range(8))  # big: by height


def test_the_automatic_cap_is_at_most_a_third_above_twice_the_top():
    from stabgraph_core.figure._curves import _nice_ceil

    assert [_nice_ceil(v) for v in (8.6, 51.0, 0.7, 130.0, 10.0)] == [10.0, 60.0, 0.8, 150.0, 10.0]
    steps = np.arange(200)
    loss = np.concatenate(([25.5], np.linspace(11, 3, 199)))  # a W&B run's first step at 25.5
    fig = figure_dict([Run("gpt2", None, steps, loss)])
    assert fig["layout"]["meta"]["y_top"] == 60.0  # not 100: the curves fill the height


def test_a_long_legend_gets_smaller_text_so_it_fits_the_page():
    steps = np.arange(20)
    many = [Run(f"run{i}", None, steps, np.linspace(3, 2, 20)) for i in range(24)]
    legend = figure_dict(many)["layout"]["legend"]
    assert 7 <= legend["font"]["size"] < 13 and legend["tracegroupgap"] < 10
    few = figure_dict(many[:2])["layout"]["legend"]
    assert few["font"]["size"] == 13  # the reference's size when it fits
