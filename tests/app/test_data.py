"""The app's source choice: simulated runs, listed folders only, errors as lines, caching."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from app import data
from stabgraph_core.errors import InvalidArgumentError, NotFoundError


def _write_run(folder: Path, model: str, seq_len: int, losses: list[float]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    payload = {"seq_len": seq_len, "steps": list(range(len(losses))), "loss": losses}
    (folder / f"{model}_seq{seq_len}.json").write_text(json.dumps(payload))


@pytest.fixture
def results_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """root/
    ├── good/      resnetbk_seq8192.json (loss 2k+1 at step k), mamba_seq8192.json
    ├── mixed/     resnetbk_seq8192.json and broken.json (truncated)
    ├── empty/     (no files)
    └── .hidden/   resnetbk_seq8192.json
    """
    root = tmp_path / "results"
    _write_run(root / "good", "resnetbk", 8192, [2 * k + 1 for k in range(5)])
    _write_run(root / "good", "mamba", 8192, [2 * k + 2 for k in range(5)])
    _write_run(root / "mixed", "resnetbk", 8192, [1.0, 0.5])
    (root / "mixed" / "broken.json").write_text('{"seq_len": 8192, "steps": [0, 1')
    (root / "empty").mkdir()
    _write_run(root / ".hidden", "resnetbk", 8192, [1.0])
    monkeypatch.setenv("STABGRAPH_RESULTS_ROOT", str(root))
    return root


def test_list_folders_offers_only_visible_folders_with_files(results_root: Path) -> None:
    assert data.list_folders() == ["good", "mixed"]


def test_symlink_leaving_the_root_is_neither_listed_nor_loaded(
    results_root: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    _write_run(outside, "resnetbk", 8192, [1.0])
    os.symlink(outside, results_root / "escape")
    assert "escape" not in data.list_folders()
    with pytest.raises(InvalidArgumentError, match="outside the results root"):
        data.resolve_folder("escape")


@pytest.mark.parametrize("name", ["..", "../results", "/etc", "good/../..", "a\\b"])
def test_paths_instead_of_names_are_refused(results_root: Path, name: str) -> None:
    with pytest.raises(InvalidArgumentError, match="plain folder name"):
        data.load_source({"kind": "folder", "folder": name})


def test_unlisted_folder_is_not_found(results_root: Path) -> None:
    with pytest.raises(NotFoundError, match="empty"):
        data.load_source({"kind": "folder", "folder": "empty"})


def test_folder_loads_runs_and_detections(results_root: Path) -> None:
    loaded = data.load_source({"kind": "folder", "folder": "good"})
    assert sorted(r.model for r in loaded.runs) == ["mamba", "resnetbk"]
    resnet = loaded.runs.get("resnetbk", 8192)
    assert resnet.loss.tolist() == [1, 3, 5, 7, 9]
    assert set(loaded.detections) == {r.run_id for r in loaded.runs}
    assert loaded.errors == ()


def test_bad_file_becomes_one_error_line_and_the_rest_loads(results_root: Path) -> None:
    loaded = data.load_source({"kind": "folder", "folder": "mixed"})
    assert len(loaded.runs) == 1
    assert len(loaded.errors) == 1
    line = loaded.errors[0]
    assert line.startswith("mixed/broken.json") or line.startswith("broken.json")
    assert "\n" not in line


def test_simulated_choice_is_checked_and_cached() -> None:
    first = data.load_source({"kind": "simulated", "seed": 1, "steps": 50, "lengths": [8192]})
    again = data.load_source({"kind": "simulated", "seed": "1", "steps": 50, "lengths": [8192]})
    assert again is first
    assert [r.model for r in first.runs] == ["resnetbk", "mamba"]
    assert all(r.steps.size == 50 for r in first.runs)
    with pytest.raises(InvalidArgumentError, match="steps must be between"):
        data.load_source({"kind": "simulated", "steps": data.MAX_SIM_STEPS + 1})
    with pytest.raises(InvalidArgumentError, match="seed must be a whole number"):
        data.load_source({"kind": "simulated", "seed": None})


def test_edited_folder_is_read_again(results_root: Path) -> None:
    before = data.load_source({"kind": "folder", "folder": "good"})
    _write_run(results_root / "good", "mamba", 32768, [3.0, 2.0, 1.0])
    after = data.load_source({"kind": "folder", "folder": "good"})
    assert len(after.runs) == len(before.runs) + 1


def test_the_whole_root_is_one_source_with_every_run_under_it(results_root: Path) -> None:
    """``stabgraph serve runs/`` opens this: all folders' runs together, as TensorBoard does."""
    from app import layout, state

    loaded = data.load_source({"kind": "folder", "folder": data.WHOLE_ROOT})
    sources = sorted(r.source for r in loaded.runs)
    assert sources == ["good/mamba_seq8192.json", "good/resnetbk_seq8192.json",
                       "mixed/resnetbk_seq8192.json"]  # fmt: skip
    assert len(loaded.errors) == 1 and "mixed/broken.json" in loaded.errors[0]
    options = layout.source_options()
    assert options[1] == {"label": "All runs in results/", "value": state.WHOLE_ROOT_VALUE}
    assert [o["value"] for o in options[2:]] == ["folder:good", "folder:mixed"]


def test_a_root_without_files_offers_no_whole_root(tmp_path: Path, monkeypatch) -> None:
    from app import layout

    (tmp_path / "empty").mkdir()
    monkeypatch.setenv("STABGRAPH_RESULTS_ROOT", str(tmp_path))
    assert [o["value"] for o in layout.source_options()] == ["simulated"]
    with pytest.raises(NotFoundError, match="holds no files"):
        data.load_source({"kind": "folder", "folder": data.WHOLE_ROOT})
