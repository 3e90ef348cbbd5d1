"""Loading a source in the background: what the job sends back and what it leaves warm."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app import data
from app.callbacks import figure, source, table
from stabgraph_core.store import _disk as run_cache


@pytest.fixture
def diverged_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """results/diverged/: resnetbk_seq8192.json (loss 2 + 1/(k+1)) and mamba_seq8192.json
    (the same until step 300, then x1.05 per step), 500 steps each; caches under tmp_path."""
    root = tmp_path / "results"
    folder = root / "diverged"
    folder.mkdir(parents=True)
    steps = list(range(500))
    healthy = [2 + 1 / (k + 1) for k in steps]
    exploding = [v if k < 300 else v * 1.05 ** (k - 300) for k, v in enumerate(healthy)]
    for model, loss in (("resnetbk", healthy), ("mamba", exploding)):
        record = {"seq_len": 8192, "steps": steps, "loss": loss}
        (folder / f"{model}_seq8192.json").write_text(json.dumps(record))
    monkeypatch.setenv("STABGRAPH_RESULTS_ROOT", str(root))
    monkeypatch.setenv("STABGRAPH_CACHE_DIR", str(tmp_path / "cache"))
    return root


def _load_folder(name: str) -> dict:
    return source.load_source(
        value=f"folder:{name}", seed=0, steps=1, sim_lengths=[], models=None, lengths=None
    )


def test_loading_a_folder_sends_labels_not_runs(diverged_root: Path) -> None:
    out = _load_folder("diverged")
    assert out["store"]["folder"] == "diverged" and len(out["store"]["snapshot"]) == 64
    assert out["status"] == "2 runs · 2 models · 1 length · 500 steps"
    assert out["models"] == ["mamba", "resnetbk"] and out["lengths"] == [8192]
    # 2 x 500 points would be kilobytes: the job's answer carries only the choice and labels
    payload = json.dumps({k: v for k, v in out.items() if k != "errors"})
    assert len(payload) < 600 and "0.5" not in payload


def test_the_load_warms_the_shared_cache_so_another_worker_does_not_parse(
    diverged_root: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    store = _load_folder("diverged")["store"]
    assert len(list((tmp_path / "cache" / "runs").glob("*.npz"))) == 1
    data.clear_cache()  # a worker that did not run the job: empty per-process cache

    def no_parsing(path):
        raise AssertionError(f"{path} parsed again")

    monkeypatch.setattr(run_cache.loaders, "load_results", no_parsing)
    fig, trace_map, _drawn_source = figure.draw_chart(
        store, 0.0, "linear", "steps", None, None, None
    )
    onsets = [e for e in trace_map if e["role"] == "onset"]
    assert [e["model"] for e in onsets] == ["mamba"]
    rows = table.fill_table(store, None, None)
    assert {r["run_id"]: r["detected"].startswith("step") for r in rows} == {
        "mamba_seq8192": True,
        "resnetbk_seq8192": False,
    }


@pytest.mark.parametrize(
    ("value", "seed", "steps", "said", "sim_hidden"),
    [
        ("folder:diverged", None, None, "Loading diverged…", True),
        ("simulated", 7, 200, "Loading simulated (seed 7, 200 steps)…", False),
        ("simulated", "x", 200, "Loading…", False),
    ],
)
def test_the_indicator_names_what_is_loading(value, seed, steps, said, sim_hidden) -> None:
    assert source.describe_choice(value, seed, steps, [8192]) == (said, sim_hidden)


def test_a_folder_whose_only_file_is_bad_shows_its_line_and_offers_nothing(
    diverged_root: Path,
) -> None:
    (diverged_root / "broken").mkdir()
    (diverged_root / "broken" / "bad.json").write_text('{"seq_len": 8192, "steps": [0, 1')
    out = _load_folder("broken")
    (line,) = out["errors"]
    assert line.children.startswith("bad.json: line 1:") and "\n" not in line.children
    assert out["status"] == "0 runs · 0 models · 0 lengths · 1 not loaded"
    assert out["model_options"] == [] and out["length_options"] == []
