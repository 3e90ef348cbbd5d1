"""Hugging Face ``trainer_state.json``."""

from __future__ import annotations

import json

import pytest

from stabgraph_core.errors import LoadError
from stabgraph_core.loaders import hf_trainer


@pytest.fixture
def trainer_state(tmp_path):
    """trainer_state.json: train entries loss = 5 - k/10 at steps 10k (k = 1..4), an eval entry
    eval_loss = 6 - k at steps 20 and 40, and a final summary entry without a loss.
    """
    history = []
    for k in range(1, 5):
        history.append({"step": 10 * k, "loss": 5 - k / 10, "learning_rate": k * 1e-4})
        if k % 2 == 0:
            history.append({"step": 10 * k, "eval_loss": 6.0 - k})
    history.append({"step": 40, "train_runtime": 12.5})
    path = tmp_path / "trainer_state.json"
    path.write_text(json.dumps({"global_step": 40, "log_history": history}))
    return path


def test_train_loss_by_default(trainer_state):
    (run,) = hf_trainer.read(trainer_state)
    assert run.steps.tolist() == [10, 20, 30, 40]
    assert run.loss.tolist() == pytest.approx([4.9, 4.8, 4.7, 4.6])
    assert run.extra["learning_rate"].tolist() == pytest.approx([1e-4, 2e-4, 3e-4, 4e-4])
    assert any("without 'loss' skipped" in note for note in run.notes)


def test_eval_loss_by_tag(trainer_state):
    (run,) = hf_trainer.read(trainer_state, tag="eval_loss")
    assert run.steps.tolist() == [20, 40] and run.loss.tolist() == [4.0, 2.0]


def test_unknown_tag_is_an_error(trainer_state):
    with pytest.raises(LoadError, match="no loss values in the file .*'perplexity'"):
        hf_trainer.read(trainer_state, tag="perplexity")


def test_tokens_seen_becomes_the_tokens_series(tmp_path):
    history = [{"step": k, "loss": 1.0, "num_input_tokens_seen": 4096 * k} for k in (1, 2)]
    path = tmp_path / "trainer_state.json"
    path.write_text(json.dumps({"log_history": history}))
    (run,) = hf_trainer.read(path)
    assert run.extra["tokens"].tolist() == [4096.0, 8192.0]
