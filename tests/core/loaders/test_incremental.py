"""Reading a log that grows: the incremental read always equals a whole read of the file.

Each case writes a log in random pieces (cut anywhere, also mid-line and mid-record) and,
after every piece, reads it through ``_incremental.read`` and through ``read_file``, which
reads the whole file with no cache: runs, arrays, notes and metadata, or the error, agree.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stabgraph_core.errors import LoadError
from stabgraph_core.loaders import _incremental, load_results, read_file

OPTIONS = (None, None, None)


def _same(path: Path) -> None:
    """The incremental read of ``path`` equals the whole read."""
    try:
        whole = read_file(path)
    except LoadError as err:
        with pytest.raises(LoadError) as raised:
            _incremental.read(path, OPTIONS)
        assert str(raised.value) == str(err)
        return
    grown = _incremental.read(path, OPTIONS)
    assert len(grown) == len(whole)
    for a, b in zip(grown, whole, strict=True):
        assert a.key == b.key
        assert np.array_equal(a.steps, b.steps)
        assert np.array_equal(a.loss, b.loss, equal_nan=True)
        assert a.extra.keys() == b.extra.keys()
        for name in a.extra:
            assert np.array_equal(a.extra[name], b.extra[name], equal_nan=True), name
        assert a.notes == b.notes
        assert dict(a.metadata) == dict(b.metadata)
        assert (a.diverged, a.divergence_step) == (b.diverged, b.divergence_step)


def _steps(draw: st.DrawFn, n: int) -> list[int]:
    """Mostly increasing steps, sometimes repeated or going back (a resumed run)."""
    steps, step = [], 0
    for _ in range(n):
        step += draw(st.sampled_from([1, 1, 1, 1, 1, 1, 2, 10, 0, -3]))
        steps.append(max(step, 0))
    return steps


def _loss(draw: st.DrawFn) -> str:
    return draw(st.sampled_from(["2.5", "2.25", "1.75", "3.0", "NaN", "1e-3", "7"]))


def _jsonl(draw: st.DrawFn) -> tuple[str, list[bytes]]:
    lines = []
    for step in _steps(draw, draw(st.integers(1, 40))):
        kind = draw(st.sampled_from(["plain"] * 8 + ["lr", "no loss", "blank", "null", "len"]))
        record = {"step": step}
        if kind != "no loss":
            record["loss"] = None if kind == "null" else 0.0
        if kind == "lr":
            record["lr"] = 0.1
        if kind == "len":
            record["seq_len"] = 4096
        text = json.dumps(record)
        if "loss" in record and record["loss"] is not None:
            text = text.replace('"loss": 0.0', f'"loss": {_loss(draw)}')
        lines.append(b"\n" if kind == "blank" else (text + "\n").encode())
    return "log.jsonl", lines


def _console(draw: st.DrawFn) -> tuple[str, list[bytes]]:
    lines = [b"starting training\n"]
    for step in _steps(draw, draw(st.integers(1, 40))):
        kind = draw(st.sampled_from(["iter"] * 8 + ["eval", "print"]))
        if kind == "iter":
            lines.append(f"iter {step}: loss {_loss(draw)}, time 10.5ms, mfu 3.2%\n".encode())
        elif kind == "eval":
            lines.append(f"step {step}: train loss 2.5, val loss 2.6\n".encode())
        else:
            lines.append(b"saving checkpoint to out\n")
    return "train.log", lines


def _megatron(draw: st.DrawFn) -> tuple[str, list[bytes]]:
    lines = []
    for step in _steps(draw, draw(st.integers(1, 30))):
        loss = "" if draw(st.integers(0, 12)) == 0 else f" lm loss: {_loss(draw)} |"
        lines.append(
            f" iteration {step:6d}/  1000 | consumed tokens: {step * 4096} | "
            f"learning rate: 6.0E-05 |{loss} grad norm: 1.5 |\n".encode()
        )
        lines.append(b"time (ms) | forward: 1.0\n")
    return "megatron.txt", lines


def _lightning(draw: st.DrawFn) -> tuple[str, list[bytes]]:
    lines = [b"step,train_loss,lr,val_loss\n"]
    for step in _steps(draw, draw(st.integers(1, 40))):
        if draw(st.integers(0, 8)) == 0:
            lines.append(f"{step},,,2.5\n".encode())
        else:
            lines.append(f"{step},{_loss(draw)},0.1,\n".encode())
    return "metrics.csv", lines


def _wandb(draw: st.DrawFn) -> tuple[str, list[bytes]]:
    lines = [b'"Step","a - loss","a - loss__MIN","b - loss"\n']
    for step in _steps(draw, draw(st.integers(1, 40))):
        b = "" if draw(st.integers(0, 4)) == 0 else _loss(draw)
        a = _loss(draw)
        lines.append(f'"{step}","{a}","{a}","{b}"\n'.encode())
    return "wandb.csv", lines


def _tb_export(draw: st.DrawFn) -> tuple[str, list[bytes]]:
    lines = [b"Wall time,Step,Value\n"]
    lines += [f"1.5,{k},{_loss(draw)}\n".encode() for k in _steps(draw, draw(st.integers(1, 40)))]
    return "run.csv", lines


def _events(draw: st.DrawFn) -> tuple[str, list[bytes]]:
    from tensorboard.compat.proto import event_pb2, summary_pb2
    from tensorboard.summary.writer.event_file_writer import EventFileWriter

    tags = ["loss"] * 6 + ["lr", "train_loss", "val/loss"]
    with tempfile.TemporaryDirectory() as folder:
        writer = EventFileWriter(folder)
        for step in _steps(draw, draw(st.integers(1, 30))):
            value = float(_loss(draw))
            summary = summary_pb2.Summary(
                value=[
                    summary_pb2.Summary.Value(tag=draw(st.sampled_from(tags)), simple_value=value)
                ]
            )
            writer.add_event(event_pb2.Event(step=step, wall_time=1.0 + step, summary=summary))
        writer.close()
        (path,) = Path(folder).glob("events.out.tfevents.*")
        return path.name, [path.read_bytes()]


FORMATS = {
    "jsonl": _jsonl,
    "console": _console,
    "megatron": _megatron,
    "lightning_csv": _lightning,
    "wandb_csv": _wandb,
    "tb_export_csv": _tb_export,
    "tensorboard": _events,
}


@st.composite
def growing_log(draw: st.DrawFn) -> tuple[str, bytes, list[int]]:
    """A log's name, its final bytes, and the offsets where the writer paused."""
    name, lines = FORMATS[draw(st.sampled_from(sorted(FORMATS)))](draw)
    data = b"".join(lines)
    cuts = sorted(set(draw(st.lists(st.integers(1, len(data)), min_size=1, max_size=12))))
    return name, data, [*cuts, len(data)]


@settings(
    max_examples=int(os.environ.get("STABGRAPH_FUZZ_EXAMPLES", "400")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(growing_log())
def test_every_append_reads_as_the_whole_file(case: tuple[str, bytes, list[int]]) -> None:
    name, data, cuts = case
    _incremental.clear()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(b"")
        written = 0
        for cut in cuts:
            with path.open("ab") as out:
                out.write(data[written:cut])
            written = cut
            _same(path)


CLEAN = {
    "log.jsonl": ("", lambda k: f'{{"step": {k}, "loss": {2 + 1 / (k + 1)}, "lr": 0.1}}\n'),
    "train.log": ("", lambda k: f"eval {k}\niter {k}: loss {2 + 1 / (k + 1):.4f}, time 10.5ms\n"),
    "metrics.csv": ("step,train_loss,lr\n", lambda k: f"{k},{2 + 1 / (k + 1)},0.1\n"),
    "w.csv": ('"Step","r - loss"\n', lambda k: f'"{k}","{2 + 1 / (k + 1)}"\n'),
    "megatron.txt": (
        "",
        lambda k: f" iteration {k:6d}/  1000 | consumed tokens: {k} | lm loss: 2.5E+00 |\n",
    ),
}


@pytest.mark.parametrize("name", sorted(CLEAN))
def test_appended_lines_are_read_alone(tmp_path: Path, name: str) -> None:
    """After the first read, each append is parsed by itself (no whole read again)."""
    header, line = CLEAN[name]
    path = tmp_path / name
    text = header + "".join(line(k) for k in range(1000))
    written = len(header + "".join(line(k) for k in range(500)))
    path.write_text(text[:written])
    first = _incremental.read(path, OPTIONS)
    for k in range(600, 1001, 100):
        cut = len(header + "".join(line(j) for j in range(k - 1))) + 4  # stopped mid-line
        with path.open("a") as out:
            out.write(text[written:cut])
        written = cut
        _same(path)
    assert _incremental.stats == {"whole": 1, "appended": 5}
    assert first[0].steps.size == 500, "runs handed out earlier keep their own points"
    last = _incremental.read(path, OPTIONS)[0]
    assert last.steps.size == 999 and not last.steps.flags.writeable


def test_appended_event_records_are_read_alone(tmp_path: Path, write_events) -> None:
    path = write_events(tmp_path / "a", {"loss": [(k, 1.0 / (k + 1)) for k in range(50)]})
    more = write_events(tmp_path / "b", {"loss": [(k, 0.5) for k in range(50, 80)]})
    extra = more.read_bytes()
    first_record = 8 + 4 + int.from_bytes(extra[:8], "little") + 4  # the file_version event
    _incremental.read(path, OPTIONS)
    with path.open("ab") as out:
        out.write(extra[first_record:-7])  # the last record cut short
    _same(path)
    with path.open("ab") as out:
        out.write(extra[-7:])
    _same(path)
    assert _incremental.stats == {"whole": 1, "appended": 2}
    assert _incremental.read(path, OPTIONS)[0].steps.size == 80


@pytest.mark.parametrize("change", ["shrink", "replace", "rewrite head"])
def test_a_file_that_did_not_just_grow_is_read_whole(tmp_path: Path, change: str) -> None:
    path = tmp_path / "log.jsonl"
    lines = [f'{{"step": {k}, "loss": {k + 1.5}}}\n' for k in range(100)]
    path.write_text("".join(lines))
    _incremental.read(path, OPTIONS)
    if change == "shrink":
        path.write_text("".join(lines[:50]))
    elif change == "replace":
        other = tmp_path / "new.jsonl"
        other.write_text("".join(lines).replace("1.5", "9.5") + lines[0])
        other.replace(path)
    else:
        with path.open("r+") as out:
            out.write('{"step": 0, "loss": 7.25}')  # same length as the first line
        with path.open("a") as out:
            out.write(lines[5].replace('"step": 5', '"step": 500'))
    _same(path)
    assert _incremental.stats["whole"] == 2


def test_load_results_reads_only_what_a_folder_gained(tmp_path: Path) -> None:
    log = tmp_path / "mamba_seq8192.jsonl"
    log.write_text("".join(f'{{"step": {k}, "loss": 2.5}}\n' for k in range(100)))
    assert load_results(tmp_path).runs[0].steps.size == 100
    with log.open("a") as out:
        out.write('{"step": 100, "loss": 2.0}\n')
    (run,) = load_results(tmp_path).runs
    assert run.steps.size == 101 and run.loss[-1] == 2.0 and run.seq_len == 8192
    assert _incremental.stats == {"whole": 1, "appended": 1}


REAL = (
    Path(os.environ.get("STABGRAPH_SHARED", Path(__file__).resolve().parents[3].parent / "shared"))
    / "data"
    / "real"
)
_REAL_LOGS = sorted(
    p.relative_to(REAL).as_posix()
    for p in (REAL.rglob("*") if REAL.is_dir() else [])
    if p.is_file() and p.name != "SOURCES.md"
)


@pytest.mark.skipif(not _REAL_LOGS, reason=f"real logs not found at {REAL} (set STABGRAPH_SHARED)")
@pytest.mark.parametrize("rel", _REAL_LOGS)
def test_real_logs_written_in_pieces_read_as_whole(tmp_path: Path, rel: str) -> None:
    """Every real log, written in eight pieces cut anywhere, reads as the whole file does
    after each piece; the line and record formats are read by appending."""
    data = (REAL / rel).read_bytes()
    path = tmp_path / Path(rel).name
    path.write_bytes(b"")
    cuts = [len(data) * k // 8 + (k * 37) % 11 for k in range(1, 8)] + [len(data)]
    written = 0
    for cut in cuts:
        with path.open("ab") as out:
            out.write(data[written:cut])
        written = max(written, cut)
        _same(path)
    from stabgraph_core.loaders._dispatch import kind_of

    if kind_of(path) in ("jsonl", "console", "tfevents") and len(data) > 50_000:
        assert _incremental.stats["appended"] >= 3, _incremental.stats
