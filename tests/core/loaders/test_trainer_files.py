"""Files as trainers leave them: a last record still being written, missing values, files
with no loss at all, impossible lengths, a BOM, ``1e400`` and ``.gz`` copies, for every reader.

Every file is built here from closed-form values: step k has loss 20 - k (k = 0..9), a
healthy, falling curve.
A missing value must never become a NaN, and a half-written last record never an error.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pytest

from stabgraph_core.detect import detect_run
from stabgraph_core.errors import LoadError
from stabgraph_core.loaders import load_results, read_file

STEPS = list(range(10))
LOSS = [20.0 - k for k in STEPS]
POINTS = list(zip(STEPS, LOSS, strict=True))
PENDING = "not written yet"


def _jsonl(records: list[dict]) -> str:
    return "".join(json.dumps(r) + "\n" for r in records)


def _megatron(k: int, loss: float | None) -> str:
    field = f" lm loss: {loss:E} |" if loss is not None else ""
    return f" iteration {k:8d}/    1000 | learning rate: 6.000E-05 |{field} grad norm: 1.0 |\n"


# reader -> (file name, whole file text, the same file with its last record half-written)
WHOLE_AND_CUT = {
    "tb_export": (
        "run.csv",
        "Wall time,Step,Value\n" + "".join(f"1.0,{k},{v}\n" for k, v in POINTS),
        "100.0,100",
    ),
    "wandb_csv": (
        "w.csv",
        '"Step","r - loss"\n' + "".join(f'"{k}","{v}"\n' for k, v in POINTS),
        '"100","3',
    ),
    "lightning_csv": (
        "metrics.csv",
        "step,loss,lr\n" + "".join(f"{k},{v},0.1\n" for k, v in POINTS),
        "100,",
    ),
    "jsonl": (
        "log.jsonl",
        _jsonl([{"step": k, "loss": v} for k, v in POINTS]),
        '{"step": 100, "loss": 3',
    ),
    "nanogpt console": (
        "out.log",
        "".join(f"iter {k}: loss {v}, time 1ms\n" for k, v in POINTS),
        "iter 100: loss 3",
    ),
    "megatron console": (
        "megatron.txt",
        "".join(_megatron(k, v) for k, v in POINTS),
        " iteration      100/    1000 | learning rate: 6.000E-05 |",
    ),
}


@pytest.mark.parametrize("name", sorted(WHOLE_AND_CUT))
def test_half_written_last_record_loads_the_rest_and_says_so(name, tmp_path):
    file_name, whole, cut = WHOLE_AND_CUT[name]
    path = tmp_path / file_name
    path.write_text(whole + cut)
    (run,) = read_file(path)
    assert run.steps.tolist() == STEPS and run.loss.tolist() == LOSS
    assert any(PENDING in note for note in run.notes), run.notes
    assert not detect_run(run).diverged


@pytest.mark.parametrize("name", sorted(WHOLE_AND_CUT))
def test_whole_file_has_no_pending_note(name, tmp_path):
    file_name, whole, _cut = WHOLE_AND_CUT[name]
    path = tmp_path / file_name
    path.write_text(whole)
    (run,) = read_file(path)
    assert run.steps.tolist() == STEPS and not any(PENDING in n for n in run.notes)


def test_tensorboard_cut_last_record_loads_the_rest(tmp_path, write_events):
    path = write_events(tmp_path, {"loss": list(POINTS)})
    data = path.read_bytes()
    for cut in (3, 13, 20):  # inside the header, the payload, the footer of the last record
        path.write_bytes(data[:-cut])
        (run,) = read_file(path)
        assert run.steps.tolist() == STEPS[:-1] and run.loss.tolist() == LOSS[:-1]
        assert any(PENDING in n for n in run.notes)


def test_tensorboard_damaged_record_in_the_middle_is_an_error(tmp_path, write_events):
    path = write_events(tmp_path, {"loss": list(POINTS)})
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x40
    path.write_bytes(bytes(data))
    with pytest.raises(LoadError, match=r"record \d+ is damaged"):
        read_file(path)


# reader -> (file name, text with step 5's loss missing in the reader's way)
MISSING_AT_5 = {
    "tb_export short row": (
        "run.csv",
        "Wall time,Step,Value\n"
        + "".join(f"1.0,{k}\n" if k == 5 else f"1.0,{k},{v}\n" for k, v in POINTS),
    ),
    "tb_export empty cell": (
        "run.csv",
        "Wall time,Step,Value\n" + "".join(f"1.0,{k},{'' if k == 5 else v}\n" for k, v in POINTS),
    ),
    "tb_export json null": (
        "run.json",
        json.dumps([[1.0, k, None if k == 5 else v] for k, v in POINTS]),
    ),
    "wandb empty cell": (
        "w.csv",
        '"Step","r - loss"\n' + "".join(f'"{k}","{"" if k == 5 else v}"\n' for k, v in POINTS),
    ),
    "lightning empty cell": (
        "metrics.csv",
        "step,loss\n" + "".join(f"{k},{'' if k == 5 else v}\n" for k, v in POINTS),
    ),
    "jsonl null": (
        "log.jsonl",
        _jsonl([{"step": k, "loss": None if k == 5 else v} for k, v in POINTS]),
    ),
    "jsonl no field": (
        "log.jsonl",
        _jsonl([{"step": k} if k == 5 else {"step": k, "loss": v} for k, v in POINTS]),
    ),
    "reference null": (
        "mamba_seq8192.json",
        json.dumps(
            {
                "seq_len": 8192,
                "steps": STEPS,
                "loss": [None if k == 5 else v for k, v in POINTS],
            }
        ),
    ),  # fmt: skip
    "long_context no loss": (
        "long_context_results.json",
        json.dumps(
            {
                "metrics_history": [
                    {"step": k + 1, "seq_len": 8192, **({} if k == 5 else {"loss": v})}
                    for k, v in POINTS
                ]
            }
        ),
    ),
    "hf_trainer null": (
        "trainer_state.json",
        json.dumps(
            {"log_history": [{"step": k, "loss": None if k == 5 else v} for k, v in POINTS]}
        ),
    ),  # fmt: skip
    "resnet_bk null": (
        "training_log.json",
        json.dumps({"loss": [None if k == 5 else v for k, v in POINTS]}),
    ),
    "console regex without loss": (
        "out.log",
        "".join(
            f"iter {k}: loss {v}, time 1ms\n" if k != 5 else f"iter {k}: eval only\n"
            for k, v in POINTS
        ),
    ),
}


@pytest.mark.parametrize("name", sorted(MISSING_AT_5))
def test_missing_value_is_no_point_never_a_nan(name, tmp_path):
    file_name, text = MISSING_AT_5[name]
    path = tmp_path / file_name
    path.write_text(text)
    regex = r"(?m)^iter (?P<step>\d+): (?:loss (?P<loss>[\d.]+))?" if "regex" in name else None
    (run,) = read_file(path, regex=regex)
    kept = [k for k in STEPS if k != 5]
    offset = 1 if name.startswith("long_context") else 0  # its steps count from 1
    assert run.steps.tolist() == [k + offset for k in kept]
    assert run.loss.tolist() == [20.0 - k for k in kept]
    found = detect_run(run)
    assert not found.diverged and not found.spikes


def test_megatron_line_without_lm_loss_among_others_is_a_nan(tmp_path):
    path = tmp_path / "megatron.txt"
    path.write_text("".join(_megatron(k, None if k == 5 else v) for k, v in POINTS))
    (run,) = read_file(path)
    assert run.steps.tolist() == STEPS and np.isnan(run.loss[5])
    assert int(np.isnan(run.loss).sum()) == 1


NO_LOSS = {
    "long_context": (
        "long_context_results.json",
        json.dumps(
            {"metrics_history": [{"step": k + 1, "seq_len": 8192, "accuracy": 0.5} for k in STEPS]}
        ),
    ),  # fmt: skip
    "long_context null": (
        "long_context_results.json",
        json.dumps(
            {"metrics_history": [{"step": k + 1, "seq_len": 8192, "loss": None} for k in STEPS]}
        ),
    ),  # fmt: skip
    "megatron": ("megatron.txt", "".join(_megatron(k, None) for k in STEPS)),
    "jsonl": ("log.jsonl", _jsonl([{"step": k, "lr": 0.1} for k in STEPS])),
    "jsonl nulls": ("log.jsonl", _jsonl([{"step": k, "loss": None} for k in STEPS])),
    "reference nulls": ("m_seq8.json", json.dumps({"steps": STEPS, "loss": [None] * 10})),
    "tb_export header only": ("run.csv", "Wall time,Step,Value\n"),
    "lightning empty column": ("metrics.csv", "step,loss\n" + "".join(f"{k},\n" for k in STEPS)),
}


@pytest.mark.parametrize("name", sorted(NO_LOSS))
def test_file_without_loss_values_is_one_error_never_a_run(name, tmp_path):
    file_name, text = NO_LOSS[name]
    (tmp_path / file_name).write_text(text)
    (tmp_path / "good_seq8.json").write_text(json.dumps({"steps": [0, 1], "loss": [2.0, 1.0]}))
    result = load_results(tmp_path)
    assert [r.source for r in result.runs] == ["good_seq8.json"]
    (error,) = result.errors
    assert str(error).startswith(f"{file_name}: no loss values in ")
    assert "\n" not in str(error)


BAD_LENGTHS = [
    *[(layout, value) for layout in ("reference", "long_context", "jsonl")
      for value in (-5, 0, 1.5, True, "8k")],
    ("runs.toml", -5),
    ("runs.toml", 0),
    ("file name", 0),
]  # fmt: skip


@pytest.mark.parametrize(("layout", "value"), BAD_LENGTHS)
def test_sequence_length_must_be_a_positive_whole_number(layout, value, tmp_path):
    if layout == "reference":
        name = "m.json"
        (tmp_path / name).write_text(json.dumps({"seq_len": value, "steps": [0], "loss": [1.0]}))
    elif layout == "long_context":
        name = "long_context_results.json"
        history = [{"step": 1, "seq_len": value, "loss": 1.0}]
        (tmp_path / name).write_text(json.dumps({"metrics_history": history}))
    elif layout == "jsonl":
        name = "log.jsonl"
        (tmp_path / name).write_text(_jsonl([{"step": 1, "loss": 1.0, "seq_len": value}]))
    elif layout == "runs.toml":
        name = "runs.toml"
        (tmp_path / "log.jsonl").write_text(_jsonl([{"step": 1, "loss": 1.0}]))
        (tmp_path / name).write_text(f'[[runs]]\npath = "log.jsonl"\nseq_len = {value}\n')
    else:  # a name token is whole and unsigned by construction: only 0 can be wrong
        name = "mamba_seq0.json"
        (tmp_path / name).write_text(json.dumps({"steps": [0], "loss": [1.0]}))
    result = load_results(tmp_path)
    assert all(r.seq_len is None or r.seq_len > 0 for r in result.runs)
    if layout != "runs.toml":  # a bad manifest is reported, and its files load without it
        assert len(result.runs) == 0
    (error,) = result.errors
    assert str(error).startswith(f"{name}:") and "positive whole number" in str(error)


def test_record_lengths_split_a_jsonl_log_into_runs(tmp_path):
    records = [{"step": k, "loss": v, "seq_len": 8192 if k < 5 else 32768}
               for k, v in POINTS]  # fmt: skip
    (tmp_path / "log.jsonl").write_text(_jsonl(records))
    runs = load_results(tmp_path).runs
    assert [(r.seq_len, r.steps.tolist()) for r in runs] == [(8192, STEPS[:5]), (32768, STEPS[5:])]


def test_json_with_a_bom_reads(tmp_path):
    path = tmp_path / "mamba_seq8192.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps({"steps": STEPS, "loss": LOSS}).encode())
    (run,) = read_file(path)
    assert run.loss.tolist() == LOSS


def test_loss_past_the_double_range_is_an_inf(tmp_path):
    path = tmp_path / "mamba_seq8192.json"
    path.write_text('{"steps": [0, 1, 2], "loss": [2.0, 1e400, -1e400]}')
    (run,) = read_file(path)
    assert run.loss.tolist() == [2.0, np.inf, -np.inf]
    path = tmp_path / "log.jsonl"
    path.write_text('{"step": 0, "loss": 2.0}\n{"step": 1, "loss": 1e400}\n')
    (run,) = read_file(path)
    assert run.loss.tolist() == [2.0, np.inf]


GZ_CASES = {k: (v[0], v[1]) for k, v in WHOLE_AND_CUT.items()}
GZ_CASES["reference"] = ("mamba_seq8192.json", json.dumps({"steps": STEPS, "loss": LOSS}))


@pytest.mark.parametrize("name", sorted(GZ_CASES))
def test_gzip_copy_reads_as_the_file_it_compresses(name, tmp_path):
    file_name, text = GZ_CASES[name]
    (tmp_path / (file_name + ".gz")).write_bytes(gzip.compress(text.encode()))
    result = load_results(tmp_path)
    assert not result.errors
    (run,) = result.runs
    assert run.steps.tolist() == STEPS and run.loss.tolist() == LOSS
    assert run.source == file_name + ".gz"


def test_gzip_tensorboard_events_and_a_cut_gzip_stream(tmp_path, write_events):
    path = write_events(tmp_path / "tb", {"loss": list(POINTS)})
    packed = gzip.compress(path.read_bytes())
    path.unlink()
    gz = Path(str(path) + ".gz")
    gz.write_bytes(packed)
    (run,) = read_file(gz)
    assert run.steps.tolist() == STEPS
    text = tmp_path / "log.jsonl.gz"
    text.write_bytes(gzip.compress(WHOLE_AND_CUT["jsonl"][1].encode())[:-12])  # still writing
    (run,) = read_file(text)
    assert run.steps.tolist() == STEPS[: run.steps.size] and run.steps.size >= 5
    assert any(PENDING in n for n in run.notes)


# JSON documents a trainer rewrites whole, caught mid-write: the records that are whole load.
CUT_DOCUMENTS = {
    "hf_trainer": (
        "trainer_state.json",
        json.dumps({"log_history": [{"step": k, "loss": v} for k, v in POINTS]}, indent=2),
    ),
    "long_context": (
        "long_context_results.json",
        json.dumps(
            {"metrics_history": [{"step": k + 1, "seq_len": 8192, "loss": v} for k, v in POINTS]}
        ),
    ),
    "resnet_bk records": (
        "training_log.json",
        json.dumps({"last_update": 1, "steps": [{"step": k, "loss": v} for k, v in POINTS]}),
    ),
    "tb_export json": ("run.json", json.dumps([[1.5, k, v] for k, v in POINTS])),
}


@pytest.mark.parametrize("name", sorted(CUT_DOCUMENTS))
def test_json_document_cut_mid_record_loads_its_whole_records(name, tmp_path):
    file_name, text = CUT_DOCUMENTS[name]
    path = tmp_path / file_name
    cut = text.rindex('"loss"') + 9 if '"loss"' in text else text.rindex(", ") + 3
    path.write_text(text[:cut])  # inside the last record's loss value
    (run,) = read_file(path)
    offset = 1 if name == "long_context" else 0
    assert run.steps.tolist() == [k + offset for k in STEPS[:-1]]
    assert run.loss.tolist() == LOSS[:-1]
    assert any("ends mid-document" in n for n in run.notes)


def test_json_document_cut_without_a_whole_record_stays_an_error(tmp_path):
    path = tmp_path / "mamba_seq8192.json"
    path.write_text(json.dumps({"seq_len": 8192, "steps": STEPS, "loss": LOSS})[:-20])
    with pytest.raises(LoadError, match="truncated JSON"):
        read_file(path)
