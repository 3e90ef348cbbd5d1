"""Every reader against damaged input (hypothesis): truncation at any offset, byte flips,
deleted cells and duplicated lines. Each answer is runs or one one-line ``LoadError`` (no
other exception), and no run holds a NaN or Inf that the damaged input did not write.

The base files hold only finite losses (step k has loss 9.5 - k), so a non-finite value in
the answer must come from a NaN/Inf word or an overflowing number in the damaged bytes, or
(Megatron) from an iteration line printed without its ``lm loss``.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stabgraph_core.errors import LoadError
from stabgraph_core.loaders import read_file
from stabgraph_core.model import Run

STEPS = list(range(6))
LOSS = [9.5 - k for k in STEPS]
POINTS = list(zip(STEPS, LOSS, strict=True))


def _event_file() -> bytes:
    """A TensorBoard event file with the points above, written by tensorboard's writer."""
    from tensorboard.compat.proto import event_pb2, summary_pb2
    from tensorboard.summary.writer.event_file_writer import EventFileWriter

    with tempfile.TemporaryDirectory() as folder:
        writer = EventFileWriter(folder)
        for step, value in POINTS:
            value_pb = summary_pb2.Summary.Value(tag="loss", simple_value=value)
            summary = summary_pb2.Summary(value=[value_pb])
            writer.add_event(event_pb2.Event(step=step, wall_time=1.0 + step, summary=summary))
        writer.close()
        (path,) = Path(folder).glob("events.out.tfevents.*")
        return path.read_bytes()


def _megatron_line(k: int, v: float) -> str:
    return (
        f" iteration {k:6d}/  1000 | consumed tokens: {k * 4096} | learning rate: 6.0E-05 |"
        f" lm loss: {v:E} | grad norm: 1.5 |\n"
    )


# reader -> (file name, bytes of a healthy file)
BASE: dict[str, tuple[str, bytes]] = {
    "reference_json": (
        "mamba_seq8192.json",
        json.dumps({"seq_len": 8192, "steps": STEPS, "loss": LOSS, "lr": [0.1] * 6}).encode(),
    ),
    "long_context": (
        "long_context_results.json",
        json.dumps(
            {"metrics_history": [{"step": k + 1, "seq_len": 8192, "loss": v} for k, v in POINTS]},
            indent=1,
        ).encode(),
    ),
    "tb_export csv": (
        "run.csv",
        ("Wall time,Step,Value\n" + "".join(f"1.5,{k},{v}\n" for k, v in POINTS)).encode(),
    ),
    "tb_export json": ("run.json", json.dumps([[1.5, k, v] for k, v in POINTS]).encode()),
    "wandb_csv": (
        "w.csv",
        (
            '"Step","r - loss","r - loss__MIN"\n'
            + "".join(f'"{k}","{v}","{v}"\n' for k, v in POINTS)
        ).encode(),
    ),  # fmt: skip
    "hf_trainer": (
        "trainer_state.json",
        json.dumps({"log_history": [{"step": k, "loss": v} for k, v in POINTS]}, indent=2).encode(),
    ),
    "jsonl": (
        "log.jsonl",
        "".join(json.dumps({"step": k, "loss": v, "lr": 0.1}) + "\n" for k, v in POINTS).encode(),
    ),
    "lightning_csv": (
        "metrics.csv",
        ("step,train_loss,lr\n" + "".join(f"{k},{v},0.1\n" for k, v in POINTS)).encode(),
    ),
    "nanogpt console": (
        "out.log",
        "".join(f"iter {k}: loss {v:.4f}, time 10.5ms, mfu 3.2%\n" for k, v in POINTS).encode(),
    ),
    "llmc console": (
        "main.log",
        "".join(f"s:{k} trl:{v:.4f} lr:0.0006 norm:1.25\n" for k, v in POINTS).encode(),
    ),
    "megatron console": (
        "megatron.txt",
        "".join(_megatron_line(k, v) + "time (ms)\n" for k, v in POINTS).encode(),
    ),
    "resnet_bk": ("training_log.json", json.dumps({"loss": LOSS, "perplexity": LOSS}).encode()),
    "tensorboard": ("events.out.tfevents.1.host", _event_file()),
}
READER_NAMES = sorted(BASE)

_NON_FINITE_WORD = re.compile(rb"(?i)nan|inf")
_HUGE_NUMBER = re.compile(rb"\d[eE]\+?0*[1-9]\d{2,}")
_MEGATRON_LINE = re.compile(rb"(?m)\biteration\s+\d+\s*/\s*\d+\s*\|[^\n]*")
_LM_LOSS = re.compile(rb"\blm loss:")


def _non_finite_allowed(name: str, data: bytes) -> int:
    """How many non-finite losses the damaged bytes can stand for (see the module docstring)."""
    allowed = len(_NON_FINITE_WORD.findall(data)) + len(_HUGE_NUMBER.findall(data))
    if name == "megatron console":
        allowed += sum(not _LM_LOSS.search(m) for m in _MEGATRON_LINE.findall(data))
    return allowed


def _check(name: str, data: bytes) -> None:
    """Read ``data`` as reader ``name``'s file; assert the property of the module docstring."""
    file_name = BASE[name][0]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / file_name
        path.write_bytes(data)
        try:
            runs = read_file(path)
        except LoadError as err:
            assert "\n" not in str(err) and str(err).startswith(str(path)), str(err)
            return
    assert isinstance(runs, list) and runs
    non_finite = 0
    for run in runs:
        assert isinstance(run, Run) and run.steps.size == run.loss.size > 0
        assert np.all(np.diff(run.steps) > 0)
        non_finite += int((~np.isfinite(run.loss)).sum())
    assert non_finite <= _non_finite_allowed(name, data), (name, data)


def _delete_cell(data: bytes, line_index: int, cell_index: int) -> bytes:
    lines = data.split(b"\n")
    line = lines[line_index % len(lines)]
    cells = line.split(b",")
    del cells[cell_index % len(cells)]
    lines[line_index % len(lines)] = b",".join(cells)
    return b"\n".join(lines)


def _duplicate_line(data: bytes, line_index: int) -> bytes:
    lines = data.split(b"\n")
    index = line_index % len(lines)
    return b"\n".join([*lines[: index + 1], lines[index], *lines[index + 1 :]])


@st.composite
def damaged(draw: st.DrawFn) -> tuple[str, bytes]:
    """A reader's base file with one to three kinds of damage applied."""
    name = draw(st.sampled_from(READER_NAMES))
    data = BASE[name][1]
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["truncate", "flip", "delete cell", "duplicate line"]))
        if kind == "truncate":
            data = data[: draw(st.integers(0, len(data)))]
        elif kind == "flip" and data:
            at = draw(st.integers(0, len(data) - 1))
            data = data[:at] + bytes([data[at] ^ draw(st.integers(1, 255))]) + data[at + 1 :]
        elif kind == "delete cell":
            data = _delete_cell(data, draw(st.integers(0, 50)), draw(st.integers(0, 50)))
        elif kind == "duplicate line":
            data = _duplicate_line(data, draw(st.integers(0, 50)))
    return name, data


# STABGRAPH_FUZZ_EXAMPLES=50000 for a longer search than the test suite's
@settings(
    max_examples=int(os.environ.get("STABGRAPH_FUZZ_EXAMPLES", "1500")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(damaged())
def test_damaged_files_give_runs_or_one_line_and_no_invented_nan(case):
    _check(*case)


@pytest.mark.parametrize("name", READER_NAMES)
def test_every_truncation_offset(name):
    data = BASE[name][1]
    for cut in range(len(data) + 1):
        _check(name, data[:cut])


@pytest.mark.parametrize("name", READER_NAMES)
def test_base_files_read_exactly(name):
    (run,) = read_file_from(name)
    assert run.loss.tolist() == LOSS
    assert run.steps.tolist() == [k + (name == "long_context") for k in STEPS]


def read_file_from(name: str) -> list[Run]:
    file_name, data = BASE[name]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / file_name
        path.write_bytes(data)
        return read_file(path)
