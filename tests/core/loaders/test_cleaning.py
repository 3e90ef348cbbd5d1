"""Sorting, duplicate steps and appended runs (the rules in ``_clean``)."""

from __future__ import annotations

import json

import numpy as np

from stabgraph_core.loaders import load_results


def write(tmp_path, name, steps, loss):
    path = tmp_path / name
    path.write_text(json.dumps({"seq_len": 8192, "steps": steps, "loss": loss}))
    return path


def test_resumed_run_last_write_wins_with_a_note(tmp_path):
    # steps 0..5 logged, then resumed from step 3: 3, 4, 5, 6 re-logged with loss + 100
    steps = [0, 1, 2, 3, 4, 5, 3, 4, 5, 6]
    loss = [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 103.0, 104.0, 105.0, 106.0]
    write(tmp_path, "mamba_seq8192.json", steps, loss)
    (run,) = load_results(tmp_path).runs
    assert run.steps.tolist() == [0, 1, 2, 3, 4, 5, 6]
    assert run.loss.tolist() == [0.0, 1.0, 2.0, 103.0, 104.0, 105.0, 106.0]
    assert any("3 duplicate steps replaced" in n for n in run.notes)


def test_appended_runs_become_segments(tmp_path):
    write(tmp_path, "mamba_seq8192.json", [0, 1, 2, 0, 1], [1.0, 2.0, 3.0, 10.0, float("nan")])
    first, second = load_results(tmp_path).runs
    assert (first.label, second.label) == ("segment 1", "segment 2")
    assert first.loss.tolist() == [1.0, 2.0, 3.0]
    assert second.steps.tolist() == [0, 1] and np.isnan(second.loss[1])
    assert any("split into 2 runs" in n for n in second.notes)


def test_unsorted_steps_are_sorted_and_lengths_stay_equal(tmp_path):
    write(tmp_path, "mamba_seq8192.json", [5, 7, 6, 8], [5.0, 7.0, 6.0, 8.0])
    (run,) = load_results(tmp_path).runs
    assert run.steps.tolist() == [5, 6, 7, 8] and run.loss.tolist() == [5.0, 6.0, 7.0, 8.0]
    assert run.steps.size == run.loss.size


def test_non_finite_values_are_never_dropped_and_null_is_no_point(tmp_path):
    loss = [1.0, float("nan"), float("inf"), float("-inf"), None]
    write(tmp_path, "mamba_seq8192.json", [0, 1, 2, 3, 4], loss)
    (run,) = load_results(tmp_path).runs
    assert run.steps.tolist() == [0, 1, 2, 3] and int(np.isnan(run.loss).sum()) == 1
    assert np.isinf(run.loss).sum() == 2
    assert any("1 step without a loss value" in n for n in run.notes)
