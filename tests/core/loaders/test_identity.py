"""Which run is which: names, folders, record fields and ``runs.toml``."""

from __future__ import annotations

import json
from pathlib import PurePosixPath

import pytest

from stabgraph_core.loaders import load_results
from stabgraph_core.loaders._identity import name_identity, path_identity


@pytest.mark.parametrize(
    ("rel", "expected"),
    [
        ("mamba_seq32768.json", ("mamba", 32768, None)),
        ("resnetbk_seq8192_seed2.csv", ("resnetbk", 8192, 2)),
        ("mamba/seq32768/seed1/events.out.tfevents.1.host", ("mamba", 32768, 1)),
        ("runs/mamba_seq8k/metrics.csv", ("mamba", 8192, None)),
        ("hyena-seq_len1M-seed3.jsonl", ("hyena", 1 << 20, 3)),
        ("trainer_log.jsonl", (None, None, None)),
        ("sequence/output.log", (None, None, None)),
    ],
)
def test_path_identity(rel, expected):
    who = path_identity(PurePosixPath(rel))
    assert (who.model, who.seq_len, who.seed) == expected


def test_name_identity_of_a_wandb_run_name():
    who = name_identity("mamba_seq131072_seed7")
    assert (who.model, who.seq_len, who.seed) == ("mamba", 131072, 7)
    assert name_identity("gpt2_char_to_token1729578574.28").model is None


def test_unidentified_file_uses_its_stem_and_says_so(tmp_path):
    (tmp_path / "trainer_log.jsonl").write_text('{"step": 1, "loss": 2.0}\n')
    (run,) = load_results(tmp_path).runs
    assert (run.model, run.seq_len) == ("trainer_log", None)
    assert any("using the file name as the model" in n for n in run.notes)


def test_unidentified_event_files_are_named_by_their_folder_as_tensorboard_does(
    tmp_path, write_events
):
    """``runs/baseline/events.out.tfevents.*`` is the run ``baseline``, not the file's stem."""
    for name in ("baseline", "warmup_2k"):
        write_events(tmp_path / name, {"train/loss": [(1, 2.0), (2, 1.5)]})
    runs = load_results(tmp_path).runs
    assert sorted(r.model for r in runs) == ["baseline", "warmup_2k"]
    assert all(any("using the folder name" in n for n in r.notes) for r in runs)


@pytest.fixture
def folder_with_manifest(tmp_path):
    """tmp/
    ├── runs.toml          a/*.log -> model "mamba", seq_len 8192; a/second.log -> seed 2, label
    ├── a/first.log        llm.c lines
    ├── a/second.log       llm.c lines
    └── b/resnetbk_seq4096.json   reference JSON (seq_len field 2048 wins over everything)
    """
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    for name in ("first", "second"):
        (tmp_path / "a" / f"{name}.log").write_text("s:1 trl:3.0\ns:2 trl:2.0\n")
    (tmp_path / "b" / "resnetbk_seq4096.json").write_text(
        json.dumps({"seq_len": 2048, "steps": [1], "loss": [1.0]})
    )
    (tmp_path / "runs.toml").write_text(
        '[[runs]]\npath = "a/*.log"\nmodel = "mamba"\nseq_len = 8192\n\n'
        '[[runs]]\npath = "a/second.log"\nseed = 2\nlabel = "resumed"\n\n'
        '[[runs]]\npath = "b/*"\nseq_len = 999\n'
    )
    return tmp_path


def test_manifest_fills_identity_by_glob(folder_with_manifest):
    first, second, ref = load_results(folder_with_manifest).runs
    assert (first.model, first.seq_len, first.seed, first.label) == ("mamba", 8192, None, None)
    assert (second.model, second.seq_len, second.seed, second.label) == (
        "mamba",
        8192,
        2,
        "resumed",
    )
    assert (ref.model, ref.seq_len) == ("resnetbk", 2048)


def test_manifest_preset_applies_to_matching_files(tmp_path):
    (tmp_path / "both.log").write_text("iter 1: loss 5.0, time 1ms\ns:1 trl:3.0\ns:2 trl:2.0\n")
    (tmp_path / "runs.toml").write_text('[[runs]]\npath = "*.log"\npreset = "nanogpt"\n')
    (run,) = load_results(tmp_path).runs
    assert run.loss.tolist() == [5.0]


def test_manifest_tag_overrides_the_option(tmp_path):
    (tmp_path / "metrics.csv").write_text("step,train_loss,val_loss\n1,2.0,3.0\n")
    (tmp_path / "runs.toml").write_text('[[runs]]\npath = "metrics.csv"\ntag = "val_loss"\n')
    (run,) = load_results(tmp_path, tag="train_loss").runs
    assert run.loss.tolist() == [3.0]


def test_same_identity_from_two_files_is_labelled_by_file(tmp_path):
    for version in ("version_0", "version_1"):
        (tmp_path / version).mkdir()
        (tmp_path / version / "metrics.csv").write_text("step,loss\n1,2.0\n")
    a, b = load_results(tmp_path).runs
    assert (a.label, b.label) == ("version_0/metrics.csv", "version_1/metrics.csv")
