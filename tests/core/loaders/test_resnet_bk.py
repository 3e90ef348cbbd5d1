"""ResNet-BK logs in their three JSON shapes."""

from __future__ import annotations

import json

import pytest

from stabgraph_core.loaders import resnet_bk


def write(tmp_path, name, data):
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return path


def test_loss_list_uses_the_index_as_step(tmp_path):
    data = {"loss": [2.0 * k + 1 for k in range(4)], "perplexity": [1, 2, 3, 4]}
    (run,) = resnet_bk.read(write(tmp_path, "training_log.json", data))
    assert run.steps.tolist() == [0, 1, 2, 3] and run.loss.tolist() == [1.0, 3.0, 5.0, 7.0]
    assert run.extra["perplexity"].tolist() == [1.0, 2.0, 3.0, 4.0]


def test_list_of_step_records(tmp_path):
    data = [
        {"step": 50 * k, "loss": 10.0 - k, "grad_norm": 0.1 * k, "timestamp": "x"} for k in (1, 2)
    ]
    (run,) = resnet_bk.read(write(tmp_path, "resnetbk_seq8192.json", data))
    assert (run.model, run.seq_len) == ("resnetbk", 8192)
    assert run.steps.tolist() == [50, 100] and run.loss.tolist() == [9.0, 8.0]
    assert run.extra["grad_norm"].tolist() == pytest.approx([0.1, 0.2])
    assert "timestamp" not in run.extra


def test_steps_object_with_metadata(tmp_path):
    data = {
        "last_update": "2025-01-01",
        "steps": [{"step": 20008 + 8 * k, "loss": 7.0 - k} for k in range(3)],
    }
    (run,) = resnet_bk.read(write(tmp_path, "log.json", data))
    assert run.steps.tolist() == [20008, 20016, 20024]
    assert run.metadata["last_update"] == "2025-01-01"
