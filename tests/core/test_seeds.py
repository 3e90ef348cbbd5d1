"""Seed groups and their statistics: grouping, alignment, cut-offs, and the summary's seeds."""

from __future__ import annotations

import numpy as np
import pytest
from sweep_data import SWEEP_DIVERGED, SWEEP_ONSET

from stabgraph_core import Run, load_results, summarize
from stabgraph_core.detect import detect_run
from stabgraph_core.seeds import final_losses, mean_and_std, seed_groups, seed_stats


def run(model, n, loss, seed=None, steps=None, **kw):
    loss = np.asarray(loss, dtype=float)
    steps = np.arange(loss.size) if steps is None else np.asarray(steps)
    return Run(model, n, steps, loss, seed=seed, **kw)


def test_groups_need_two_distinct_seeds_of_one_model_length_and_label():
    runs = [
        run("mamba", 8192, [1.0], seed=1),
        run("mamba", 8192, [1.0], seed=0),
        run("mamba", 32768, [1.0], seed=0),  # alone at its length
        run("mamba", 8192, [1.0]),  # no seed
        run("resnetbk", 8192, [1.0], seed=0),
        run("mamba", 8192, [1.0], seed=0, label="lr3e-4"),
        run("mamba", 8192, [1.0], seed=5, label="lr3e-4"),
    ]
    groups = seed_groups(runs)
    assert [(g.model, g.seq_len, g.label, g.seeds) for g in groups] == [
        ("mamba", 8192, None, (0, 1)),
        ("mamba", 8192, "lr3e-4", (0, 5)),
    ]
    assert groups[0].display_name == "Mamba 8k"
    assert groups[0].group_id == "mamba_seq8192_seeds"
    assert groups[1].group_id == "mamba_seq8192_lr3e-4_seeds"
    assert {g.group_id for g in groups}.isdisjoint(r.run_id for r in runs)


def test_stats_on_a_shared_grid_use_the_sample_std():
    stats = seed_stats(
        [np.arange(3)] * 3, [np.array([1.0, 2.0, 3.0]), np.array([3.0, 2.0, 5.0]), np.full(3, 2.0)]
    )
    assert stats.steps.tolist() == [0, 1, 2]
    assert stats.mean.tolist() == pytest.approx([2.0, 2.0, 10 / 3])
    assert stats.std.tolist() == pytest.approx([1.0, 0.0, np.std([3.0, 5.0, 2.0], ddof=1)])
    assert stats.min.tolist() == [1.0, 2.0, 2.0] and stats.max.tolist() == [3.0, 2.0, 5.0]
    assert stats.count.tolist() == [3, 3, 3]


def test_seeds_logging_at_different_steps_are_interpolated_never_extrapolated():
    stats = seed_stats(
        [np.array([0, 10]), np.array([5, 15])], [np.array([0.0, 10.0]), np.array([1.0, 1.0])]
    )
    assert stats.steps.tolist() == [0, 5, 10, 15]
    # step 5: seed A on its line (5.0) and seed B's own 1.0; steps 0 and 15: one seed each
    assert stats.count.tolist() == [1, 2, 2, 1]
    assert stats.mean.tolist() == pytest.approx([0.0, 3.0, 5.5, 1.0])
    assert np.isnan(stats.std[0]) and np.isnan(stats.std[3])  # one seed: no spread


def test_a_seed_stops_counting_at_its_cutoff_and_at_its_nan_steps():
    a = np.array([1.0, 1.0, 1.0, 1.0])
    b = np.array([3.0, np.nan, 3.0, 50.0])
    stats = seed_stats([np.arange(4)] * 2, [a, b], cutoffs=[None, 3])
    assert stats.count.tolist() == [2, 1, 2, 1]
    assert stats.max.tolist() == [3.0, 1.0, 3.0, 1.0]  # the exploded 50 never enters


def test_no_seed_counting_gives_nan_not_a_number():
    stats = seed_stats([np.arange(2)] * 2, [np.array([1.0, 2.0])] * 2, cutoffs=[1, 1])
    assert stats.count.tolist() == [2, 0]
    assert np.isnan(stats.mean[1]) and np.isnan(stats.min[1]) and np.isnan(stats.max[1])


def test_final_losses_and_mean_and_std():
    group = seed_groups(
        [
            run("m", 8, [2.0, 1.0, np.nan], seed=0),
            run("m", 8, [np.nan], seed=1),
            run("m", 8, [3.0], seed=2),
        ]
    )[0]
    assert final_losses(group) == [1.0, None, 3.0]
    assert mean_and_std(final_losses(group)) == pytest.approx((2.0, np.sqrt(2.0)))
    assert mean_and_std([4.0]) == (4.0, None)
    assert mean_and_std([None]) == (None, None)


def test_summary_seeds_section_and_comparison_by_seed_means():
    runs = [
        run("mamba", 8192, [4.0, 3.0], seed=0),
        run("mamba", 8192, [4.0, 5.0], seed=1, diverged=True, divergence_step=1),
        run("resnetbk", 8192, [4.0, 2.0], seed=0),
        run("resnetbk", 8192, [4.0, 2.5], seed=1),
    ]
    s = summarize(runs)
    g = s["seeds"]["mamba"]["8192"]
    assert g == {
        "n_seeds": 2,
        "n_diverged": 1,
        "divergence_rate": 0.5,
        "divergence_steps": [1],
        "final_loss_mean": 4.0,
        "final_loss_std": pytest.approx(np.sqrt(2.0)),
        "seeds": [0, 1],
    }
    assert list(s["comparison"]) == ["8192"]  # not one comparison per seed
    c = s["comparison"]["8192"]
    assert (c["mamba_final"], c["resnetbk_final"]) == (4.0, 2.25)
    assert c["improvement"] == pytest.approx(1.75)
    assert (c["mamba_diverged"], c["resnetbk_diverged"]) == (True, False)
    assert (c["mamba_n_seeds"], c["resnetbk_n_seeds"]) == (2, 2)
    assert set(s["mamba"]) == {"8192 seed 0", "8192 seed 1"}  # per-run entries stay


def test_summary_without_seed_groups_has_an_empty_seeds_section():
    s = summarize([run("mamba", 8192, [1.0], seed=0), run("mamba", 32768, [1.0], seed=1)])
    assert s["seeds"] == {}


def test_sweep_folder_summary(sweep_dir):
    runs = list(load_results(sweep_dir).runs)
    s = summarize(runs, detections={r.run_id: detect_run(r) for r in runs})
    model, length, seed = SWEEP_DIVERGED
    g = s["seeds"][model][str(length)]
    assert (g["n_seeds"], g["n_diverged"], g["divergence_rate"]) == (3, 1, pytest.approx(1 / 3))
    assert len(g["divergence_steps"]) == 1
    assert SWEEP_ONSET <= g["divergence_steps"][0] <= SWEEP_ONSET + 5
    finals = [s[model][f"{length} seed {k}"]["final_loss"] for k in (0, 1, 2)]
    assert g["final_loss_mean"] == pytest.approx(np.mean(finals))
    assert g["final_loss_std"] == pytest.approx(np.std(finals, ddof=1))
    assert s["seeds"]["resnetbk"]["8192"]["n_diverged"] == 0
    assert list(s["seeds"]["resnetbk"]) == ["8192", "32768"]  # by length
