"""Seed bands in the figure: mean and spread per seed group, diverged seeds left out of both."""

from __future__ import annotations

from collections import Counter

import numpy as np
import plotly.graph_objects as go
import pytest
from sweep_data import SWEEP_DIVERGED, SWEEP_ONSET

from stabgraph_core import Run, load_results
from stabgraph_core.detect import detect_run
from stabgraph_core.figure import FigureOptions, figure_dict
from stabgraph_core.figure._bands import _polygons


@pytest.fixture
def sweep(sweep_dir):
    runs = list(load_results(sweep_dir).runs)
    return runs, {r.run_id: detect_run(r) for r in runs}


def roles(fig):
    return Counter(t["meta"]["role"] for t in fig["data"])


def by_role(fig, role, **meta):
    return [
        t
        for t in fig["data"]
        if t["meta"]["role"] == role and all(t["meta"][k] == v for k, v in meta.items())
    ]


def test_each_group_is_a_band_and_a_mean_and_the_diverged_seed_its_own_line(sweep):
    runs, found = sweep
    fig = figure_dict(runs, FigureOptions(), found)
    r = roles(fig)
    assert (r["band"], r["seed_mean"]) == (4, 4)
    assert r["loss"] == 0 and r["seed"] == 0  # seeds' own lines only on demand
    model, length, seed = SWEEP_DIVERGED
    (after,) = by_role(fig, "diverged")
    assert (after["meta"]["model"], after["meta"]["seq_len"], after["meta"]["seed"]) == (
        model,
        length,
        seed,
    )
    assert after["x"][0] >= SWEEP_ONSET - 5 and after["y"][-1] > 10  # drawn up to its end
    assert len(by_role(fig, "onset")) == 1
    keys = [t["name"] for t in by_role(fig, "key")]
    assert "Seed mean ± 1 std" in keys
    go.Figure(fig)  # every property valid


def test_mean_and_std_band_leave_the_diverged_seed_out_after_its_onset(sweep):
    runs, found = sweep
    fig = figure_dict(runs, FigureOptions(), found)
    model, length, bad = SWEEP_DIVERGED
    (mean,) = by_role(fig, "seed_mean", model=model, seq_len=length)
    (band,) = by_role(fig, "band", model=model, seq_len=length)
    seeds = {r.seed: r for r in runs if (r.model, r.seq_len) == (model, length)}
    onset = found[seeds[bad].run_id].divergence_step
    step = 450
    i = int(np.flatnonzero(mean["x"] == step)[0])
    others = [seeds[s].loss[step] for s in seeds if s != bad]
    assert mean["y"][i] == pytest.approx(np.mean(others))
    assert mean["customdata"][i][5] == 2  # two seeds count there
    before = onset - 10
    j = int(np.flatnonzero(mean["x"] == before)[0])
    values = [r.loss[before] for r in seeds.values()]
    assert mean["y"][j] == pytest.approx(np.mean(values))
    assert mean["customdata"][j][2] == pytest.approx(np.std(values, ddof=1))
    # the band's upper edge at that step is mean + 1 std
    at = np.flatnonzero(band["x"] == before)
    edge = sorted(band["y"][at])
    assert edge[-1] == pytest.approx(np.mean(values) + np.std(values, ddof=1))
    assert edge[0] == pytest.approx(np.mean(values) - np.std(values, ddof=1))
    assert np.nanmax(band["y"]) < 4 * np.nanmax(mean["y"][: j + 1])  # no explosion inside


def test_minmax_band_encloses_every_seed_before_its_onset(sweep):
    runs, found = sweep
    fig = figure_dict(runs, FigureOptions(bands="minmax"), found)
    (band,) = by_role(fig, "band", model="resnetbk", seq_len=8192)
    seeds = [r for r in runs if (r.model, r.seq_len) == ("resnetbk", 8192)]
    step = 100
    at = np.flatnonzero(band["x"] == step)
    values = [r.loss[step] for r in seeds]
    assert sorted(band["y"][at]) == pytest.approx([min(values), max(values)])
    assert "Seed mean, min–max" in [t["name"] for t in by_role(fig, "key")]


def test_off_draws_every_seed_as_a_run_and_show_seeds_adds_thin_lines(sweep):
    runs, found = sweep
    off = roles(figure_dict(runs, FigureOptions(bands="off"), found))
    assert (off["loss"], off["band"], off["seed_mean"]) == (12, 0, 0)
    fig = figure_dict(runs, FigureOptions(show_seeds=True, max_points=2000), found)
    lines = by_role(fig, "seed")
    assert len(lines) == 12
    assert all(t["line"]["width"] < 2 for t in lines)
    (mean,) = by_role(fig, "seed_mean", model="mamba", seq_len=8192)
    assert mean["line"]["width"] == 2


def test_bands_are_opaque_for_eps(sweep):
    runs, found = sweep
    fig = figure_dict(runs, FigureOptions(), found)
    for t in by_role(fig, "band"):
        assert t["fillcolor"].startswith("#") and len(t["fillcolor"]) == 7
        assert "opacity" not in t


def test_single_seeds_and_runs_without_seed_get_no_band():
    steps = np.arange(50)
    runs = [
        Run("mamba", 8192, steps, np.linspace(3, 2, 50), seed=0),
        Run("mamba", 32768, steps, np.linspace(3, 2, 50), seed=1),
        Run("mamba", 32768, steps, np.linspace(3, 2, 50)),
    ]
    r = roles(figure_dict(runs))
    assert (r["band"], r["seed_mean"], r["loss"]) == (0, 0, 3)
    assert "Seed mean ± 1 std" not in [t["name"] for t in figure_dict(runs)["data"]]


def test_screen_points_are_bounded_and_tokens_axis_works():
    steps = np.arange(20_000)
    rng = np.random.default_rng(0)
    runs = [
        Run(
            "mamba",
            8192,
            steps,
            3 + rng.normal(0, 0.1, steps.size),
            seed=s,
            extra={"tokens": steps * 8192.0},
        )
        for s in range(3)
    ]
    fig = figure_dict(runs, FigureOptions(max_points=2000, x_axis="tokens"))
    (band,) = by_role(fig, "band")
    (mean,) = by_role(fig, "seed_mean")
    assert len(mean["x"]) <= 2100 and len(band["x"]) <= 2 * 2100 + 2
    assert mean["x"][-1] == pytest.approx(19_999 * 8192.0)


def test_band_outline_splits_where_fewer_than_two_seeds_count():
    x = np.arange(6.0)
    lower = np.array([0.0, 0.0, np.nan, np.nan, 1.0, 1.0])
    upper = lower + 1
    bx, by = _polygons(x, lower, upper)
    gaps = np.flatnonzero(np.isnan(bx))
    assert gaps.size == 1  # two closed outlines
    first, second = bx[: gaps[0]], bx[gaps[0] + 1 :]
    assert first.tolist() == [0, 1, 1, 0, 0] and second.tolist() == [4, 5, 5, 4, 4]
    assert by[: gaps[0]].tolist() == [1, 1, 0, 0, 1]
