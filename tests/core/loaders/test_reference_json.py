"""Reference per-run JSON (``{model}_seq{N}.json``)."""

from __future__ import annotations

import json

import numpy as np
import orjson
import pytest

from stabgraph_core.errors import LoadError
from stabgraph_core.loaders import reference_json


def write(path, record, *, strict=False):
    path.write_bytes(orjson.dumps(record) if strict else json.dumps(record).encode())
    return path


@pytest.fixture
def mamba_32k_with_nan(tmp_path):
    """mamba_seq32768.json: loss 2k + 1 for k = 0..9, NaN at 7, null (no value) at 8,
    Infinity at 9.

    tmp/
    └── mamba_seq32768.json
    """
    loss = [2.0 * k + 1 for k in range(10)]
    loss[7], loss[8], loss[9] = float("nan"), None, float("inf")
    record = {
        "seq_len": 32768,
        "steps": list(range(10)),
        "loss": loss,
        "diverged": True,
        "divergence_step": 7,
    }
    return write(tmp_path / "mamba_seq32768.json", record)


def test_reads_values_and_declared_divergence(mamba_32k_with_nan):
    (run,) = reference_json.read(mamba_32k_with_nan)
    assert (run.model, run.seq_len, run.seed) == ("mamba", 32768, None)
    assert run.steps.tolist() == [0, 1, 2, 3, 4, 5, 6, 7, 9]
    assert run.loss[:7].tolist() == [2.0 * k + 1 for k in range(7)]
    assert np.isnan(run.loss[7]) and int(np.isnan(run.loss).sum()) == 1
    assert run.loss[8] == np.inf
    assert run.diverged is True and run.divergence_step == 7
    assert run.source == "mamba_seq32768.json"


def test_negative_infinity_and_nan_in_compact_json(tmp_path):
    path = tmp_path / "resnetbk_seq8192.json"
    path.write_text('{"seq_len":8192,"steps":[1,2,3],"loss":[-Infinity,NaN,3.5]}')
    (run,) = reference_json.read(path)
    assert run.loss[0] == -np.inf and np.isnan(run.loss[1]) and run.loss[2] == 3.5


def test_the_word_nan_inside_a_string_is_not_touched(tmp_path):
    path = tmp_path / "mamba_seq8192.json"
    path.write_text('{"note": "a NaN b", "seq_len": 8192, "steps": [0, 1], "loss": [NaN, 1.0]}')
    (run,) = reference_json.read(path)
    assert np.isnan(run.loss[0]) and run.loss[1] == 1.0


def test_record_seq_len_wins_over_the_file_name(tmp_path):
    record = {"seq_len": 4096, "steps": [0, 1], "loss": [1.0, 2.0], "model": "hyena"}
    (run,) = reference_json.read(write(tmp_path / "mamba_seq8192.json", record, strict=True))
    assert (run.model, run.seq_len) == ("hyena", 4096)


def test_other_lists_of_the_same_length_become_series(tmp_path):
    record = {"seq_len": 8192, "steps": [0, 1, 2], "loss": [3.0, 2.0, 1.0], "grad_norm": [1, 2, 3]}
    (run,) = reference_json.read(write(tmp_path / "mamba_seq8192.json", record))
    assert run.extra["grad_norm"].tolist() == [1.0, 2.0, 3.0]


def test_float_steps_that_are_whole_numbers_are_accepted(tmp_path):
    record = {"seq_len": 8192, "steps": [0.0, 10.0, 20.0], "loss": [3.0, 2.0, 1.0]}
    (run,) = reference_json.read(write(tmp_path / "mamba_seq8192.json", record))
    assert run.steps.dtype == np.int64 and run.steps.tolist() == [0, 10, 20]


def test_mismatched_lengths_name_both_counts(tmp_path):
    record = {"seq_len": 8192, "steps": [0, 1, 2], "loss": [3.0, 2.0]}
    with pytest.raises(LoadError, match="'steps' has 3 values but 'loss' has 2"):
        reference_json.read(write(tmp_path / "mamba_seq8192.json", record))
