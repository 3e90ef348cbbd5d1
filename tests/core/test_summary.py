"""Summary formulas on small hand-made runs, and strict JSON output."""

from __future__ import annotations

import json

import numpy as np
import pytest

from stabgraph_core import Run, summarize, to_json, write_summary


def run(model, n, loss, **kw):
    return Run(model, n, np.arange(len(loss)), np.array(loss, dtype=float), **kw)


def test_stats_over_finite_values_with_nan_at_end():
    s = summarize([run("resnetbk", 8192, [4.0, 2.0, 3.0, np.nan])])
    e = s["resnetbk"]["8192"]
    assert e["final_loss"] == 3.0
    assert e["min_loss"] == 2.0
    assert e["mean_loss"] == pytest.approx(3.0)
    assert e["std_loss"] == pytest.approx(np.sqrt(2 / 3))  # population std
    assert (e["num_nan"], e["num_inf"]) == (1, 0)


def test_inf_counted_and_excluded():
    e = summarize([run("mamba", 8192, [3.0, np.inf, 1.0, -np.inf, np.nan])])["mamba"]["8192"]
    assert (e["final_loss"], e["min_loss"], e["num_inf"], e["num_nan"]) == (1.0, 1.0, 2, 1)


def test_all_nan_run_is_omitted():
    s = summarize([run("mamba", 8192, [np.nan, np.nan]), run("mamba", 32768, [1.0])])
    assert list(s["mamba"]) == ["32768"]


def test_declared_divergence_is_reported():
    e = summarize([run("mamba", 32768, [1.0, 5.0], diverged=True, divergence_step=1)])
    assert e["mamba"]["32768"]["diverged"] is True
    assert e["mamba"]["32768"]["divergence_step"] == 1


def test_comparison_sign_convention_and_other_models():
    s = summarize(
        [
            run("resnetbk", 8192, [0.5]),
            run("mamba", 8192, [0.25]),
            run("mamba", 32768, [2.0]),  # no resnetbk at 32k: no comparison
            run("gpt2", 1024, [3.0]),
        ]
    )
    assert list(s["comparison"]) == ["8192"]
    c = s["comparison"]["8192"]
    assert c["improvement"] == pytest.approx(-0.25)
    assert c["improvement_pct"] == pytest.approx(-100.0)
    assert c["resnetbk_final"] == 0.5 and c["mamba_final"] == 0.25
    assert "gpt2" in s and s["gpt2"]["1024"]["final_loss"] == 3.0


def test_baseline_and_candidate_are_configurable():
    s = summarize([run("a", 8, [2.0]), run("b", 8, [1.0])], baseline="a", candidate="b")
    assert s["comparison"]["8"]["improvement"] == 1.0
    assert s["comparison"]["8"]["a_final"] == 2.0


def test_seeds_get_their_own_keys():
    s = summarize([run("mamba", 8192, [1.0], seed=1), run("mamba", 8192, [2.0], seed=2)])
    assert set(s["mamba"]) == {"8192 seed 1", "8192 seed 2"}


def test_json_is_strict(tmp_path):
    s = summarize([run("mamba", 8192, [1.0, 2.0])])
    s["mamba"]["8192"]["extra"] = [float("nan"), float("inf"), 1.5]
    text = to_json(s).decode()
    assert "NaN" not in text and "Infinity" not in text
    parsed = json.loads(text, parse_constant=lambda c: pytest.fail(f"non-strict {c}"))
    assert parsed["mamba"]["8192"]["extra"] == [None, None, 1.5]
    path = write_summary(s, tmp_path / "new" / "dir" / "summary.json")
    assert json.loads(path.read_text())["mamba"]["8192"]["final_loss"] == 2.0


def test_detection_fills_only_what_the_source_does_not_declare():
    from stabgraph_core.detect import Detection

    undeclared = run("gpt2", 1024, [3.0, 2.0, 9.0])
    declared = run("mamba", 32768, [3.0, 2.0, 9.0], diverged=True, divergence_step=1)
    found = Detection(True, 2, "loss 9 at step 2 is 4.5x its running minimum 2")
    s = summarize(
        [undeclared, declared],
        detections={undeclared.run_id: found, declared.run_id: found},
    )
    assert (s["gpt2"]["1024"]["diverged"], s["gpt2"]["1024"]["divergence_step"]) == (True, 2)
    assert s["mamba"]["32768"]["divergence_step"] == 1  # declared wins
    assert s["mamba"]["32768"]["detection"]["divergence_step"] == 2  # detection kept apart
    assert summarize([undeclared])["gpt2"]["1024"]["diverged"] is False  # nothing detected
