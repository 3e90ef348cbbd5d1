"""The contract every reader module keeps: ``read(path)`` gives ``list[Run]`` with sorted,
unique int64 steps and float64 losses of the same length; a corrupt file raises ``LoadError``
with the line where it breaks (TensorBoard's binary records have no lines).
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from stabgraph_core.errors import LoadError
from stabgraph_core.loaders import READERS
from stabgraph_core.model import Run

LOSS = [2.0 * k + 1 for k in range(5)]  # step k has loss 2k + 1

GOOD = {
    "reference_json": (
        "mamba_seq8192.json",
        json.dumps({"seq_len": 8192, "steps": list(range(5)), "loss": LOSS}),
    ),
    "long_context": (
        "long_context_results.json",
        json.dumps(
            {
                "metrics_history": [
                    {"step": k + 1, "seq_len": 8192, "loss": v} for k, v in enumerate(LOSS)
                ]
            }
        ),
    ),
    "tb_export": (
        "run.csv",
        "Wall time,Step,Value\n" + "".join(f"1.0,{k},{v}\n" for k, v in enumerate(LOSS)),
    ),
    "wandb_csv": (
        "w.csv",
        '"Step","r - loss"\n' + "".join(f'"{k}","{v}"\n' for k, v in enumerate(LOSS)),
    ),
    "hf_trainer": (
        "trainer_state.json",
        json.dumps({"log_history": [{"step": k, "loss": v} for k, v in enumerate(LOSS)]}),
    ),
    "jsonl": (
        "log.jsonl",
        "".join(json.dumps({"step": k, "loss": v}) + "\n" for k, v in enumerate(LOSS)),
    ),
    "lightning_csv": (
        "metrics.csv",
        "step,loss\n" + "".join(f"{k},{v}\n" for k, v in enumerate(LOSS)),
    ),
    "console": ("out.log", "".join(f"iter {k}: loss {v}, time 1ms\n" for k, v in enumerate(LOSS))),
    "resnet_bk": ("training_log.json", json.dumps({"loss": LOSS})),
}

CORRUPT = {
    "reference_json": (
        "mamba_seq8192.json",
        '{"seq_len": 8192,\n"steps": [0, 1],\n"loss": [1.0',
        3,
    ),
    "long_context": ("long_context_results.json", '{"metrics_history": [\n{"step": 1', 2),
    "tb_export": ("run.csv", "Wall time,Step,Value\n1.0,0,1.0\n1.0,1,x\n", 3),
    "wandb_csv": ("w.csv", '"Step","r - loss"\n"0","1.0"\n"1","x"\n', 3),
    "hf_trainer": (
        "trainer_state.json",
        '{"log_history": [\n{"step": 0, "loss": 1.0},\n{"step": 1 "loss": 2.0}]}',
        3,
    ),
    "jsonl": ("log.jsonl", '{"step": 0, "loss": 1.0}\n{"step": 1, "loss": 1.0\n', 2),
    "lightning_csv": ("metrics.csv", "step,loss\n0,1.0\n1,2.0,3.0\n", 3),
    "console": ("out.log", "iter 0: loss 1.0, time 1ms\niter 1: loss 1.o, time 1ms\n", 2),
    "resnet_bk": ("training_log.json", '{"loss": [1.0,\n2.0,\n', 3),
}


def _good_path(name, tmp_path, write_events):
    if name == "tensorboard":
        return write_events(tmp_path / "tb", {"loss": list(enumerate(LOSS))})
    file_name, text = GOOD[name]
    path = tmp_path / file_name
    path.write_text(text)
    return path


@pytest.mark.parametrize("name", sorted(READERS))
def test_good_input_gives_runs(name, tmp_path, write_events):
    runs = READERS[name].read(_good_path(name, tmp_path, write_events))
    assert isinstance(runs, list) and len(runs) == 1 and isinstance(runs[0], Run)
    (run,) = runs
    assert run.steps.dtype == np.int64 and run.loss.dtype == np.float64
    assert run.steps.size == run.loss.size == 5
    assert np.all(np.diff(run.steps) > 0)
    assert run.loss.tolist() == LOSS
    assert run.model and run.source


@pytest.mark.parametrize("name", sorted(READERS))
def test_corrupt_input_raises_load_error_with_line(name, tmp_path):
    if name == "tensorboard":
        path = tmp_path / "events.out.tfevents.1.host"
        path.write_bytes(b"\x07\x00\x00\x00\x00\x00\x00\x00junk")
        with pytest.raises(LoadError):
            READERS[name].read(path)
        return
    file_name, text, line = CORRUPT[name]
    path = tmp_path / file_name
    path.write_text(text)
    with pytest.raises(LoadError) as caught:
        READERS[name].read(path)
    assert caught.value.line == line
