"""Bad input: every unreadable file is exactly one line (relative path, line, reason), no
traceback, and a good file next to it still loads. Each case is built in a temporary folder.
"""

from __future__ import annotations

import json

import pytest

from stabgraph_core.errors import LoadError
from stabgraph_core.loaders import load_results

GOOD = json.dumps({"seq_len": 8192, "steps": [0, 1], "loss": [2.0, 1.0]})

# (case id, relative path, file bytes, expected message (after "path: "), expected line)
CASES = [
    ("empty json", "a.json", b"", "empty file", None),
    ("whitespace only", "a.jsonl", b"  \n\n", "empty file", None),
    ("empty log", "a.log", b"", "empty file", None),
    ("truncated json", "a.json", b'{"steps": [0, 1], "loss": [1.0,\n 2.0', "truncated JSON", 2),
    ("invalid json", "a.json", b'{"steps": [0, 1]\n "loss": []}', "invalid JSON", 2),
    ("json of unknown shape", "a.json", b'{"hello": "world"}', "unknown format", None),
    ("json scalar", "a.json", b"42", "unknown format", None),
    (
        "steps not a list",
        "m_seq1.json",
        b'{"steps": "0-9", "loss": [1.0]}',
        "steps must be a list",
        None,
    ),
    (
        "loss has a string",
        "m_seq1.json",
        b'{"steps": [0, 1, 2], "loss": [1.0, 2.0, "x"]}',
        "loss[2] is not a number: 'x'",
        None,
    ),
    (
        "loss all strings",
        "m_seq1.json",
        b'{"steps": [0, 1], "loss": ["1.0", "2.0"]}',
        "loss[0] is not a number: '1.0'",
        None,
    ),
    (
        "loss has an object",
        "m_seq1.json",
        b'{"steps": [0, 1], "loss": [1.0, {"v": 2}]}',
        "loss[1] is not a number",
        None,
    ),
    (
        "fractional step",
        "m_seq1.json",
        b'{"steps": [0, 1.5], "loss": [1.0, 2.0]}',
        "steps[1] is not a whole step number: 1.5",
        None,
    ),
    (
        "null step",
        "m_seq1.json",
        b'{"steps": [0, null], "loss": [1.0, 2.0]}',
        "steps[1] is missing",
        None,
    ),
    (
        "mismatched lengths",
        "m_seq1.json",
        b'{"steps": [0, 1, 2], "loss": [1.0]}',
        "'steps' has 3 values but 'loss' has 1",
        None,
    ),
    ("empty lists", "m_seq1.json", b'{"steps": [], "loss": []}', "no steps", None),
    (
        "seq_len is text",
        "m_seq1.json",
        b'{"seq_len": "8k", "steps": [0], "loss": [1.0]}',
        "seq_len must be a positive whole number",
        None,
    ),
    ("non-utf8 json", "a.json", b'{"steps": [0], "model": "\xff\xfe"}', "not UTF-8", 1),
    (
        "non-utf8 log",
        "a.log",
        b"iter 0: loss 1.0,\niter 1: loss \xe9\n",
        "not UTF-8 text (byte 0xe9)",
        2,
    ),
    ("binary junk", "junk.bin", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary data", 3),
    (
        "unknown text format",
        "notes.txt",
        b"hello\nworld\n",
        "unknown format: no line matches",
        None,
    ),
    (
        "jsonl bad middle line",
        "a.jsonl",
        b'{"step": 1, "loss": 1.0}\nnot json\n{"step": 3, "loss": 1.0}\n',
        "invalid JSON",
        2,
    ),
    (
        "jsonl array line",
        "a.jsonl",
        b'{"step": 1, "loss": 1.0}\n[1, 2]\n',
        "expected a JSON object, got list",
        2,
    ),
    ("jsonl without loss", "a.jsonl", b'{"step": 1, "acc": 1.0}\n', "no loss values", None),
    (
        "jsonl loss without step",
        "a.jsonl",
        b'{"step": 1, "loss": 1.0}\n{"loss": 2.0}\n',
        "has 'loss' but no 'step'",
        2,
    ),
    (
        "jsonl loss is text",
        "a.jsonl",
        b'{"step": 1, "loss": 1.0}\n{"step": 2, "loss": "high"}\n',
        "'loss' is not a number: 'high'",
        2,
    ),
    ("csv ragged row", "metrics.csv", b"step,loss\n1,2.0\n2,3.0,9,9\n", "malformed CSV", 3),
    (
        "csv without loss column",
        "metrics.csv",
        b"step,accuracy\n1,0.5\n",
        "unknown format: a CSV without step and loss",
        None,
    ),
    (
        "csv text in loss",
        "metrics.csv",
        b"step,loss\n1,2.0\n2,abc\n",
        "column 'loss': 'abc' is not a number",
        3,
    ),
    (
        "csv fractional step",
        "metrics.csv",
        b"step,loss\n1.5,2.0\n",
        "is not a whole step number",
        None,
    ),
    (
        "wandb export without values",
        "w.csv",
        b'"Step","r - train/loss"\n"0",""\n',
        "no loss values in the file (metric 'train/loss' is empty",
        None,
    ),
    (
        "tensorboard junk",
        "events.out.tfevents.1.host",
        b"\x00garbage" * 20,
        "record 1 is damaged",
        None,
    ),
    ("tensorboard empty", "events.out.tfevents.2.host", b"", "empty file", None),
    (
        "long context empty history",
        "long_context_results.json",
        b'{"metrics_history": []}',
        "no loss values in 'metrics_history'",
        None,
    ),
    (
        "trainer state not a list",
        "trainer_state.json",
        b'{"log_history": {}}',
        "'log_history' must be a list",
        None,
    ),
    (
        "tb export bad row",
        "tb.json",
        b"[[1.0, 0, 2.0], [1.0, 1, 2.0, 4]]",
        "row 1 is not [wall_time, step, value]",
        None,
    ),
    ("console bad loss", "a.log", b"s:1 trl:1.0\ns:2 trl:1,5\n", "loss '1,5' is not a number", 2),
]


@pytest.mark.parametrize(
    ("rel", "content", "message", "line"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_one_line_per_bad_file_and_the_rest_loads(tmp_path, rel, content, message, line):
    (tmp_path / "good").mkdir()
    (tmp_path / "good" / "mamba_seq8192.json").write_text(GOOD)
    bad = tmp_path / "bad" / rel
    bad.parent.mkdir()
    bad.write_bytes(content)

    result = load_results(tmp_path)

    assert [r.source for r in result.runs] == ["good/mamba_seq8192.json"]
    (error,) = result.errors
    assert isinstance(error, LoadError)
    assert error.path == f"bad/{rel}" and error.line == line
    assert message in error.reason
    text = str(error)
    assert "\n" not in text and "Traceback" not in text
    assert text.startswith(f"bad/{rel}: ")


def test_case_count():
    assert len(CASES) >= 20


@pytest.mark.parametrize(
    ("manifest", "message", "line"),
    [
        ('[[runs]]\npath = "*"\nmodel = \n', "invalid TOML", 3),
        ('[[runs]]\nmodel = "x"\n', "has no 'path' glob", None),
        ('[[runs]]\npath = "*"\nseq_len = "8k"\n', "seq_len must be a int", None),
        ('[[runs]]\npath = "*"\ncolour = "red"\n', "unknown key 'colour'", None),
    ],
)
def test_bad_manifest_is_one_line_and_files_still_load(tmp_path, manifest, message, line):
    (tmp_path / "mamba_seq8192.json").write_text(GOOD)
    (tmp_path / "runs.toml").write_text(manifest)
    result = load_results(tmp_path)
    assert len(result.runs) == 1
    (error,) = result.errors
    assert error.path == "runs.toml" and message in error.reason and error.line == line


def test_bad_regex_in_manifest_is_an_error_for_the_matching_file(tmp_path):
    (tmp_path / "a.log").write_text("s:1 trl:1.0\n")
    (tmp_path / "runs.toml").write_text("[[runs]]\npath = \"*.log\"\nregex = 'x(?P<step>\\d+)'\n")
    result = load_results(tmp_path)
    (error,) = result.errors
    assert error.path == "a.log" and "named groups" in error.reason
