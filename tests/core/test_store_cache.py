"""The shared on-disk cache of loaded folders: the same runs back, one parse per change."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from stabgraph_core import loaders


@pytest.fixture
def two_runs_and_a_bad_file(tmp_path: Path) -> Path:
    """A results folder; loss at step k is 2k + run (exact values to compare)::

    results/
      mamba_seq8192.json      steps 0..9, loss 2k + 0, grad_norm k, declared stable
      resnetbk_seq32768.json  steps 0..9, loss 2k + 1, a NaN at step 7, declared diverged at 7
      broken.json             truncated JSON -> one LoadError
    """
    folder = tmp_path / "results"
    folder.mkdir()
    steps = list(range(10))
    mamba = {"seq_len": 8192, "steps": steps, "loss": [2 * k for k in steps],
             "grad_norm": steps, "diverged": False}  # fmt: skip
    bk_loss: list[float] = [2 * k + 1 for k in steps]
    bk_loss[7] = float("nan")  # written as NaN by json.dumps
    bk = {"seq_len": 32768, "steps": steps, "loss": bk_loss, "diverged": True,
          "divergence_step": 7}  # fmt: skip
    (folder / "mamba_seq8192.json").write_text(json.dumps(mamba))
    (folder / "resnetbk_seq32768.json").write_text(json.dumps(bk))
    (folder / "broken.json").write_text('{"steps": [1, 2')
    return folder


@pytest.fixture
def counted_loads(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Record every real parse (``load_results`` call), with the loader's own cache cleared."""
    calls: list[Path] = []
    real = loaders.load_results

    def load(path, **kwargs):
        calls.append(Path(path))
        loaders.clear_cache()
        return real(path, **kwargs)

    monkeypatch.setattr(loaders, "load_results", load)
    return calls


def _same(a: loaders.LoadResult, b: loaders.LoadResult) -> None:
    assert len(a.runs) == len(b.runs)
    for x, y in zip(a.runs, b.runs, strict=True):
        assert x == y  # steps, loss (NaN-aware), extra, identity, declared divergence
        assert (x.source, x.notes, dict(x.metadata)) == (y.source, y.notes, dict(y.metadata))
    assert [str(e) for e in a.errors] == [str(e) for e in b.errors]
    assert [(e.path, e.reason, e.line) for e in a.errors] == [
        (e.path, e.reason, e.line) for e in b.errors
    ]


def test_second_load_reads_the_cache_and_gives_the_same_runs(
    two_runs_and_a_bad_file: Path, tmp_path: Path, counted_loads: list[Path]
) -> None:
    from stabgraph_core.store import cached_load

    cache = tmp_path / "cache"
    first = cached_load(two_runs_and_a_bad_file, cache_dir=cache)
    second = cached_load(two_runs_and_a_bad_file, cache_dir=cache)
    assert len(counted_loads) == 1
    _same(first, second)
    assert len(second.runs) == 2 and len(second.errors) == 1
    assert "broken.json" in str(second.errors[0])
    bk = second.runs.get("resnetbk", 32768)
    assert bk is not None and np.isnan(bk.loss[7]) and bk.divergence_step == 7
    assert np.array_equal(second.runs.get("mamba", 8192).extra["grad_norm"], np.arange(10.0))
    assert not bk.loss.flags.writeable, "cached arrays are shared: read-only"
    assert len(list(cache.glob("*.npz"))) == 1


@pytest.mark.parametrize("change", ["edit", "add", "remove", "touch"])
def test_any_change_in_the_folder_loads_again(
    two_runs_and_a_bad_file: Path, tmp_path: Path, counted_loads: list[Path], change: str
) -> None:
    from stabgraph_core.store import cached_load

    cache = tmp_path / "cache"
    folder = two_runs_and_a_bad_file
    cached_load(folder, cache_dir=cache)
    target = folder / "mamba_seq8192.json"
    if change == "edit":
        data = json.loads(target.read_text())
        data["loss"][0] = 99.0
        target.write_text(json.dumps(data))
    elif change == "add":
        (folder / "sub").mkdir()
        (folder / "sub" / "mamba_seq16384.json").write_text(target.read_text())
    elif change == "remove":
        (folder / "broken.json").unlink()
    else:
        st = target.stat()
        os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    again = cached_load(folder, cache_dir=cache)
    assert len(counted_loads) == 2
    _same(again, loaders.load_results(folder))


def test_a_corrupt_entry_is_ignored_and_rewritten(
    two_runs_and_a_bad_file: Path, tmp_path: Path, counted_loads: list[Path]
) -> None:
    from stabgraph_core.store import cached_load

    cache = tmp_path / "cache"
    cached_load(two_runs_and_a_bad_file, cache_dir=cache)
    (entry,) = cache.glob("*.npz")
    entry.write_bytes(entry.read_bytes()[:100])
    result = cached_load(two_runs_and_a_bad_file, cache_dir=cache)
    assert len(counted_loads) == 2 and len(result.runs) == 2
    cached_load(two_runs_and_a_bad_file, cache_dir=cache)
    assert len(counted_loads) == 2


def test_entries_beyond_the_size_limit_are_pruned_oldest_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from stabgraph_core.store import cached_load

    cache = tmp_path / "cache"
    folders = []
    for i in range(3):
        folder = tmp_path / f"r{i}"
        folder.mkdir()
        steps = list(range(20_000))
        (folder / "mamba_seq8192.json").write_text(json.dumps({"steps": steps, "loss": steps}))
        folders.append(folder)
    monkeypatch.setenv("STABGRAPH_RUN_CACHE_MB", "0")  # keep nothing but the newest entry's size
    for folder in folders:
        cached_load(folder, cache_dir=cache)
    assert len(list(cache.glob("*.npz"))) <= 1


@pytest.mark.slow
def test_processes_share_one_parse(two_runs_and_a_bad_file: Path, tmp_path: Path) -> None:
    """Four processes load the same folder at once: exactly one of them parses it."""
    script = tmp_path / "load.py"
    script.write_text(
        "import sys\n"
        "from pathlib import Path\n"
        "from stabgraph_core import loaders\n"
        "real = loaders.load_results\n"
        "def counted(path, **kw):\n"
        "    print('PARSED', flush=True)\n"
        "    return real(path, **kw)\n"
        "loaders.load_results = counted\n"
        "from stabgraph_core.store import cached_load\n"
        "result = cached_load(Path(sys.argv[1]), cache_dir=Path(sys.argv[2]))\n"
        "print('RUNS', len(result.runs))\n"
    )
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(root)}
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                str(script),
                str(two_runs_and_a_bad_file),
                str(tmp_path / "cache"),
                str(root / "app"),
            ],  # fmt: skip
            stdout=subprocess.PIPE,
            text=True,
            env=env,
            cwd=root,
        )
        for _ in range(4)
    ]
    outputs = [p.communicate(timeout=60)[0] for p in procs]
    assert all(p.returncode == 0 for p in procs), outputs
    assert sum(o.count("PARSED") for o in outputs) == 1
    assert all("RUNS 2" in o for o in outputs)


def test_the_store_serves_a_snapshot_by_its_key(two_runs_and_a_bad_file: Path, tmp_path: Path):
    from stabgraph_core.store import RunStore

    folder = two_runs_and_a_bad_file
    store = RunStore(cache_dir=tmp_path / "cache", within=folder)
    first, key = store.load(folder)
    assert key == store.key(folder) and len(first.runs) == 2
    (folder / "broken.json").unlink()
    (folder / "mamba_seq65536.jsonl").write_text('{"step": 1, "loss": 3.0}\n')
    assert store.key(folder) != key, "a change gives a new key"
    old, same = store.load(folder, snapshot=key)
    assert same == key and len(old.runs) == 2 and len(old.errors) == 1
    now, new_key = store.load(folder)
    assert new_key == store.key(folder) and len(now.runs) == 3 and not now.errors


def test_a_store_without_a_cache_or_with_options_reads_in_this_process(tmp_path: Path):
    from stabgraph_core.store import RunStore

    log = tmp_path / "train.log"
    log.write_text("".join(f"s:{k} trl:{2 + 1 / (k + 1):.4f}\n" for k in range(20)))
    plain, key = RunStore().load(tmp_path)
    regex = RunStore(cache_dir=tmp_path / "cache", regex=r"s:(?P<step>\d+) trl:(?P<loss>\S+)")
    custom, _ = regex.load(tmp_path)
    assert not (tmp_path / "cache").exists(), "no entry keyed without its options"
    assert (
        plain.runs[0].metadata["preset"] == "llmc" and custom.runs[0].metadata["preset"] == "regex"
    )
    assert len(key) == 64


def test_a_growing_log_is_held_once_in_the_process_cache(tmp_path: Path) -> None:
    # a live page re-reads a growing log every poll: older versions must not pile up
    from stabgraph_core.loaders import _cache

    log = tmp_path / "mamba_seq8192.jsonl"
    loaders.clear_cache()
    for i in range(20):
        with log.open("a") as out:
            out.write(json.dumps({"step": i, "loss": 3.0 - i / 100}) + "\n")
        os.utime(log, ns=(i * 10**9, i * 10**9))  # a new version even within one mtime tick
        runs = loaders.load_results(tmp_path).runs
        assert runs[0].steps.size == i + 1
    assert _cache.cache_size() == 1


def test_identity_cache_drops_an_entry_when_its_array_is_freed() -> None:
    import gc

    from stabgraph_core.downsample import IdentityLRU

    cache = IdentityLRU(max_entries=100)
    kept = []
    for i in range(10):
        source = np.arange(1000.0) + i
        source.flags.writeable = False
        cache.put((source,), ("n",), np.arange(3))
        if i % 2 == 0:
            kept.append(source)
        del source
    gc.collect()
    assert len(cache) == len(kept) == 5
    assert all(cache.get((a,), ("n",)) is not None for a in kept)
