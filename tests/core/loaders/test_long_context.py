"""``train_long_context.py`` output: one run per sequence length."""

from __future__ import annotations

import json

import numpy as np
import pytest

from stabgraph_core.errors import LoadError
from stabgraph_core.loaders import long_context


@pytest.fixture
def two_lengths_history(tmp_path):
    """long_context_mamba_results.json: 4 records at 128 (global steps 1-4), 3 at 256 (5-7).

    loss = 10 - global step; gradient_norm = global step / 10.

    tmp/
    └── long_context_mamba_results.json
    """
    history = [
        {
            "step": g,
            "seq_len": 128 if g <= 4 else 256,
            "loss": 10.0 - g,
            "gradient_norm": g / 10,
            "learning_rate": 1e-3,
            "memory_allocated_gb": 0.5,
        }
        for g in range(1, 8)
    ]
    record = {
        "args": {"seed": 42},
        "results_by_length": {"128": [{"avg_loss": 7.5}], "256": [{"avg_loss": 4.0}]},
        "metrics_history": history,
        "gradient_statistics": {"mean": 0.4},
    }
    path = tmp_path / "long_context_mamba_results.json"
    path.write_text(json.dumps(record))
    return path


def test_splits_by_length_with_local_steps(two_lengths_history):
    short, long_ = long_context.read(two_lengths_history)
    assert (short.model, short.seq_len, long_.seq_len) == ("mamba", 128, 256)
    assert short.steps.tolist() == [1, 2, 3, 4] and long_.steps.tolist() == [1, 2, 3]
    assert short.loss.tolist() == [9.0, 8.0, 7.0, 6.0]
    assert long_.loss.tolist() == [5.0, 4.0, 3.0]
    assert long_.extra["global_step"].tolist() == [5.0, 6.0, 7.0]


def test_keeps_gradient_norm_learning_rate_memory_and_metadata(two_lengths_history):
    short, long_ = long_context.read(two_lengths_history)
    assert np.allclose(long_.extra["grad_norm"], [0.5, 0.6, 0.7])
    assert set(short.extra) >= {"grad_norm", "learning_rate", "memory_allocated_gb"}
    assert long_.metadata["results_by_length"] == [{"avg_loss": 4.0}]
    assert long_.metadata["gradient_statistics"] == {"mean": 0.4}


def test_empty_history_is_a_clear_no_steps_error(tmp_path):
    path = tmp_path / "long_context_results.json"
    path.write_text(json.dumps({"args": {}, "results_by_length": {}, "metrics_history": []}))
    with pytest.raises(LoadError, match="no loss values in"):
        long_context.read(path)


def test_record_without_seq_len_is_named(tmp_path):
    path = tmp_path / "long_context_results.json"
    path.write_text(json.dumps({"metrics_history": [{"step": 1, "loss": 2.0}]}))
    with pytest.raises(LoadError, match=r"metrics_history\[0\] has no 'seq_len'"):
        long_context.read(path)
