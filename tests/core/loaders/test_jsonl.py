"""JSON Lines logs."""

from __future__ import annotations

import json

import numpy as np
import pytest

from stabgraph_core.errors import LoadError
from stabgraph_core.loaders import jsonl


def write_lines(path, records):
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    return path


@pytest.mark.parametrize(
    ("step_key", "loss_key"),
    [
        ("step", "loss"),
        ("current_steps", "loss"),
        ("iter", "train_loss"),
        ("global_step", "lm_loss"),
    ],
)
def test_step_and_loss_keys(tmp_path, step_key, loss_key):
    records = [{step_key: 5 * k, loss_key: 2.0 * k + 1, "lr": 0.1} for k in range(1, 4)]
    (run,) = jsonl.read(write_lines(tmp_path / "trainer_log.jsonl", records))
    assert run.steps.tolist() == [5, 10, 15] and run.loss.tolist() == [3.0, 5.0, 7.0]
    assert run.extra["lr"].tolist() == [0.1, 0.1, 0.1]


def test_blank_lines_summary_record_and_nan(tmp_path):
    path = tmp_path / "log.jsonl"
    path.write_text(
        '{"step": 1, "loss": 1.5}\n\n{"step": 2, "loss": NaN}\n{"step": 2, "done": true}\n'
    )
    (run,) = jsonl.read(path)
    assert run.steps.tolist() == [1, 2] and np.isnan(run.loss[1])
    assert "1 line without 'loss' skipped" in run.notes


def test_half_written_last_line_is_not_written_yet(tmp_path):
    path = tmp_path / "log.jsonl"
    path.write_text('{"step": 1, "loss": 1.5}\n{"step": 2, "loss": 1.4}\n{"step": 3, "lo')
    (run,) = jsonl.read(path)
    assert run.steps.tolist() == [1, 2] and run.loss.tolist() == [1.5, 1.4]
    assert any("last line is not written yet" in n for n in run.notes)


def test_whole_last_line_without_a_line_break_loads(tmp_path):
    path = tmp_path / "log.jsonl"
    path.write_text('{"step": 1, "loss": 1.5}\n{"step": 2, "loss": 1.4}')
    (run,) = jsonl.read(path)
    assert run.steps.tolist() == [1, 2] and not any("not written" in n for n in run.notes)


def test_cut_line_in_the_middle_is_still_an_error(tmp_path):
    path = tmp_path / "log.jsonl"
    path.write_text('{"step": 1, "loss": 1.5}\n{"step": 2, "lo\n{"step": 3, "loss": 1.4}\n')
    with pytest.raises(LoadError, match=r"line 2: truncated JSON"):
        jsonl.read(path)


def test_seed_field_is_the_runs_seed_and_splits_runs(tmp_path):
    records = [
        {"step": k, "seq_len": 8192, "seed": seed, "loss": 3.0 - 0.1 * k + seed}
        for seed in (0, 1)
        for k in range(3)
    ]
    runs = jsonl.read(write_lines(tmp_path / "sweep.jsonl", records))
    assert [(r.seq_len, r.seed) for r in runs] == [(8192, 0), (8192, 1)]
    assert runs[1].loss.tolist() == pytest.approx([4.0, 3.9, 3.8])
    assert "seed" not in runs[0].extra  # identity, not a series


def test_whole_float_seed_is_accepted(tmp_path):
    (run,) = jsonl.read(
        write_lines(tmp_path / "log.jsonl", [{"step": 1, "loss": 1.0, "seed": 3.0}])
    )
    assert run.seed == 3


@pytest.mark.parametrize("seed", [1.5, "one", True])
def test_mistyped_seed_is_a_load_error_naming_the_line(tmp_path, seed):
    records = [{"step": 1, "loss": 1.0, "seed": 0}, {"step": 2, "loss": 1.0, "seed": seed}]
    path = write_lines(tmp_path / "log.jsonl", records)
    with pytest.raises(LoadError) as err:
        jsonl.read(path)
    text = str(err.value)
    assert "log.jsonl" in text and "seed must be a whole number" in text and "2" in text
    assert "\n" not in text
