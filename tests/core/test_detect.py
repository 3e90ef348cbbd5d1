"""Divergence and spike detection on curves whose right answer is obvious, and on real logs."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest

from stabgraph_core.detect import (
    DEFAULT_CONFIG,
    Detection,
    DetectorConfig,
    Spike,
    describe,
    detect,
    detect_run,
)
from stabgraph_core.errors import InvalidArgumentError
from stabgraph_core.model import Run
from stabgraph_core.simulation import DEFAULT_LENGTHS, simulate
from stabgraph_core.summary import summarize, to_json


def decaying(n: int = 400, seed: int = 0, noise: float = 0.02) -> tuple[np.ndarray, np.ndarray]:
    """A healthy curve: 3 + 2*exp(-step/60) plus small Gaussian noise, steps 0..n-1."""
    rng = np.random.default_rng(seed)
    steps = np.arange(n)
    return steps, 3.0 + 2.0 * np.exp(-steps / 60) + noise * rng.standard_normal(n)


# --- constructed curves -----------------------------------------------------------------


def test_flat_curve_with_one_nan_at_the_end_diverges_there() -> None:
    steps = np.arange(100)
    loss = np.full(100, 2.0)
    loss[-1] = np.nan
    found = detect(steps, loss)
    assert found.diverged
    assert found.divergence_step == 99
    assert found.first_nonfinite_step == 99
    assert "NaN at step 99" in found.reason and "never became finite again" in found.reason
    assert found.spikes == ()
    assert found.stable_regions == ((0, 98),)


def test_spike_that_recovers_is_a_spike_not_a_divergence() -> None:
    steps, loss = decaying()
    loss[200:206] = [6.0, 9.0, 8.0, 6.0, 4.5, 3.5]  # baseline ~3.07 there
    found = detect(steps, loss)
    assert not found.diverged and found.divergence_step is None
    # 3.5 is still 1.14x the baseline: the spike ends at the next point, back within 1.1x
    assert found.spikes == (Spike(start=200, peak=201, end=206),)
    assert found.stable_regions == ((0, 199), (206, 399))
    assert "1 spike recovered" in found.reason and "9 at step 201" in found.reason


def test_slow_blow_up_is_dated_where_the_rise_began() -> None:
    steps, loss = decaying(600, seed=1)
    loss[350:] *= np.exp(0.01 * (steps[350:] - 350))
    found = detect(steps, loss)
    assert found.diverged
    assert abs(found.divergence_step - 350) <= 10
    assert "never came back" in found.reason
    assert found.stable_regions[-1][1] < found.divergence_step


def clean_decay(steps: np.ndarray) -> np.ndarray:
    """A noiseless falling loss, 4*exp(-0.02*step) + 1.5: each point is the lowest so far."""
    return 4.0 * np.exp(-0.02 * steps) + 1.5


def test_jump_logged_every_10_steps_then_nan_is_dated_at_the_jump() -> None:
    steps = np.arange(0, 200, 10)
    loss = clean_decay(steps)
    loss[14] = 9.7
    loss[15:] = np.nan
    found = detect(steps, loss)
    # step 130 is still the lowest loss so far: the departure begins at 140, not before
    assert found.diverged and found.divergence_step == 140
    assert found.first_nonfinite_step == 150
    low = f"{clean_decay(np.array([130]))[0]:.3f}"  # 1.797, not a smoothed, lagging level
    assert f"9.7 at step 140 is 5.4x its running minimum {low}" in found.reason
    assert "the rise began at step 140; first NaN at step 150" in found.reason
    assert found.stable_regions == ((0, 130),)


def test_jump_that_stays_finite_is_dated_at_its_first_point() -> None:
    steps = np.arange(200)
    loss = clean_decay(steps)
    loss[140:] = 9.7
    found = detect(steps, loss)
    assert found.diverged and found.divergence_step == 140
    low = f"{clean_decay(np.array([139]))[0]:.3f}"
    assert f"its running minimum {low} and never came back" in found.reason
    assert found.stable_regions == ((0, 139),)


def test_jump_logged_every_10_steps_that_stays_finite() -> None:
    steps = np.arange(0, 400, 10)
    loss = clean_decay(steps)
    loss[25:] = 9.7
    found = detect(steps, loss)
    assert found.diverged and found.divergence_step == 250
    low = f"{clean_decay(np.array([240]))[0]:.3f}"
    assert f"its running minimum {low} and never came back" in found.reason
    assert "the rise began at step 250" in found.reason


def test_running_minimum_of_a_long_run_spans_its_chunks() -> None:
    steps = np.arange(40_000)  # more points than one chunk of work
    loss = 1.0 + 4.0 * np.exp(-steps / 10_000)
    loss[35_000:] = 9.7
    found = detect(steps, loss)
    assert found.diverged and found.divergence_step == 35_000
    # the lowest loss is the last point before the jump, in the second chunk (1.121)
    assert f"its running minimum {loss[34_999]:.3f} and never" in found.reason


def test_pure_noise_is_neither_divergence_nor_spike() -> None:
    rng = np.random.default_rng(3)
    for centre in (2.0, 0.0):  # around zero the ratio test cannot help: noise widths must
        found = detect(np.arange(5000), centre + 0.3 * rng.standard_normal(5000))
        assert not found.diverged
        assert found.spikes == ()
        assert "no divergence or spike" in found.reason


def test_run_that_starts_high_and_falls_has_no_spike() -> None:
    steps = np.arange(300)
    loss = 11.0 * np.exp(-steps / 5) + 3.0 + 0.01 * np.sin(steps)
    loss[0] = 25.0  # the first logged loss is often far above the rest
    found = detect(steps, loss)
    assert not found.diverged
    assert found.spikes == ()
    assert found.stable_regions == ((0, 299),)


def test_nan_that_recovers_and_stays_finite_is_a_spike_and_says_so() -> None:
    steps, loss = decaying()
    loss[150:152] = np.nan
    found = detect(steps, loss)
    assert not found.diverged
    assert found.first_nonfinite_step == 150
    assert found.spikes == (Spike(start=150, peak=150, end=152),)
    assert "NaN at step 150 was a spike" in found.reason


def test_nan_that_keeps_coming_back_is_a_divergence_at_the_first_one() -> None:
    steps, loss = decaying()
    loss[[150, 170, 190]] = [np.nan, np.inf, np.nan]
    found = detect(steps, loss)
    assert found.diverged and found.divergence_step == 150
    assert "+Inf again at step 170" in found.reason


def test_long_nonfinite_stretch_is_a_divergence_even_if_finite_values_return() -> None:
    steps, loss = decaying()
    loss[150:180] = np.nan
    found = detect(steps, loss, DetectorConfig(nonfinite_window=10))
    assert found.diverged and found.divergence_step == 150
    assert "for 30 logged points" in found.reason


def test_blow_up_before_a_nan_is_dated_at_the_rise_and_mentions_the_nan() -> None:
    steps, loss = decaying(500, seed=2)
    loss[300:] *= np.exp(0.05 * (steps[300:] - 300))
    loss[420] = np.nan
    found = detect(steps, loss)
    assert found.diverged and abs(found.divergence_step - 300) <= 5
    assert found.first_nonfinite_step == 420
    assert "first NaN at step 420" in found.reason


def test_short_excursion_falling_back_when_the_log_ends_is_a_spike() -> None:
    steps, loss = decaying(200)
    loss[-6:] = [7.0, 9.0, 8.2, 7.5, 7.0, 6.5]  # baseline ~3.07: 42% of the way back down
    found = detect(steps, loss)
    assert not found.diverged and found.divergence_step is None
    assert found.spikes == (Spike(start=194, peak=195, end=199),)
    assert found.stable_regions == ((0, 193),)
    assert "still recovering when the log ends: 9 at step 195" in found.reason
    assert "down to 6.5 by step 199 (42% of the way back) after 6 logged points" in found.reason
    assert "not yet back at its baseline" in found.reason
    assert detect(steps, loss, DetectorConfig(min_sustained_points=1)).diverged
    assert detect(steps, loss, DetectorConfig(recovering_fraction=0.5)).diverged


def test_open_excursion_after_recovered_spikes_is_named_the_last() -> None:
    steps, loss = decaying(200)
    loss[100:103] = [8.0, 9.0, 7.0]
    loss[-6:] = [7.0, 9.5, 8.2, 7.5, 7.0, 6.5]
    found = detect(steps, loss)
    assert not found.diverged
    assert [s.end for s in found.spikes] == [103, 199]
    assert "2 spikes, 1 recovered, the largest 9 at step 101" in found.reason
    assert "; the last, still recovering when the log ends: 9.5 at step 195" in found.reason


def test_excursion_that_falls_back_but_stays_up_is_a_divergence() -> None:
    steps, loss = decaying(200)
    loss[-30:-28] = [7.0, 9.0]
    loss[-28:] = 6.5 + 0.02 * np.random.default_rng(5).standard_normal(28)  # 42% back, 30 points
    found = detect(steps, loss)
    assert found.diverged and found.divergence_step == 170  # the jump's first point
    assert "never came back" in found.reason


def test_short_excursion_still_near_its_peak_is_a_divergence() -> None:
    steps, loss = decaying(200)
    loss[-5:] = [5.0, 6.0, 7.0, 8.0, 7.6]  # only 12% back down from 8 toward ~3.07
    found = detect(steps, loss)
    assert found.diverged and found.divergence_step == 195
    assert found.spikes == ()


def test_falling_excursion_that_ends_in_nan_is_a_divergence() -> None:
    steps, loss = decaying(200)
    loss[-6:] = [7.0, 9.0, 8.2, 7.5, 6.5, np.nan]
    found = detect(steps, loss)
    assert found.diverged and found.first_nonfinite_step == 199


def test_steps_are_reported_in_the_runs_own_numbering() -> None:
    steps, loss = decaying()
    loss[200:203] = [8.0, 9.0, 7.0]
    found = detect(steps * 10 + 5000, loss)
    assert found.spikes == (Spike(start=7000, peak=7010, end=7030),)


def test_spike_score_counts_points_seven_stds_from_the_previous_window() -> None:
    steps = np.arange(2000)
    loss = 3.0 + 0.01 * np.random.default_rng(4).standard_normal(2000)
    loss[[500, 1200, 1700]] = 5.0  # 200 std above the rolling mean, 1.67x the baseline
    found = detect(steps, loss)
    assert found.spike_score == pytest.approx(3 / 2000)
    assert len(found.spikes) == 3


def test_empty_and_never_finite_runs() -> None:
    empty = detect(np.array([], dtype=int), np.array([]))
    assert not empty.diverged and empty.reason == "no loss values were logged"
    never = detect(np.arange(3), np.full(3, np.nan))
    assert never.diverged and never.divergence_step == 0 and never.first_nonfinite_step == 0


def test_absurd_losses_are_judged_without_numpy_warnings() -> None:
    loss = np.array([1e200] * 50 + [1e201] * 50)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        found = detect(np.arange(100), loss)
    assert found.diverged and found.divergence_step == 50
    assert "1e+201 at step 50 is 10.0x its running minimum 1e+200" in found.reason


def test_mismatched_inputs_are_rejected() -> None:
    with pytest.raises(InvalidArgumentError, match="3 steps and 2 values"):
        detect(np.arange(3), np.ones(2))


# --- configuration -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"ratio": 1.0}, "ratio must be > 1"),
        ({"return_ratio": 2.0}, "return_ratio must be between 1 and ratio"),
        ({"sigmas": 0}, "sigmas must be > 0"),
        ({"smooth_window": 0}, "smooth_window must be >= 1"),
        ({"return_window": 2.5}, "return_window must be an integer"),
        ({"ratio": float("nan")}, "ratio must be finite"),
        ({"return_noise": 0.5}, "return_noise must be >= 1"),
        ({"min_sustained_points": 0}, "min_sustained_points must be >= 1"),
        ({"recovering_fraction": 0.0}, "recovering_fraction must be > 0 and <= 1"),
        ({"recovering_fraction": 1.5}, "recovering_fraction must be > 0 and <= 1"),
    ],
)
def test_config_is_checked_when_built(changes: dict, message: str) -> None:
    with pytest.raises(InvalidArgumentError, match=message):
        DetectorConfig(**changes)


def test_config_replace_ignores_none_and_rejects_unknown_names() -> None:
    changed = DEFAULT_CONFIG.replace(ratio=2.0, smooth_window=None)
    assert changed.ratio == 2.0 and changed.smooth_window == DEFAULT_CONFIG.smooth_window
    with pytest.raises(InvalidArgumentError, match="unknown detector parameter 'window'"):
        DEFAULT_CONFIG.replace(window=3)


def test_a_higher_ratio_ignores_a_smaller_spike() -> None:
    steps, loss = decaying()
    loss[200] = 5.0  # about 1.6x the baseline
    assert len(detect(steps, loss).spikes) == 1
    assert detect(steps, loss, DetectorConfig(ratio=2.0)).spikes == ()


# --- simulated runs ---------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 7, 42])
def test_simulated_runs_match_the_declared_divergence(seed: int) -> None:
    for run in simulate(DEFAULT_LENGTHS, 1000, seed):
        found = detect_run(run)
        assert found.diverged == run.diverged, run.display_name
        if run.diverged:
            assert abs(found.divergence_step - run.divergence_step) <= 20, run.display_name


def test_clipped_resnet_bk_floor_is_never_divergence() -> None:
    for seed in range(5):
        for run in simulate((8192,), 3000, seed).select(models=["resnetbk"]):
            found = detect_run(run)
            assert not found.diverged and found.spikes == ()


# --- summary and strict JSON -----------------------------------------------------------------


def test_detection_to_dict_is_strict_json() -> None:
    found = Detection(
        True, 5, "r", 5, (Spike(1, 2, 3),), ((0, 4),), 0.25, extra={"not": "exported"}
    )
    assert json.loads(json.dumps(found.to_dict())) == {
        "diverged": True,
        "divergence_step": 5,
        "reason": "r",
        "first_nonfinite_step": 5,
        "spikes": [{"start": 1, "peak": 2, "end": 3}],
        "stable_regions": [[0, 4]],
        "spike_score": 0.25,
        "grad_norm_spikes": [],
    }
    assert describe(found) == "diverged @ 5"


def test_summary_fills_undeclared_divergence_from_detection_and_keeps_declared() -> None:
    steps, loss = decaying()
    loss[300:] = np.nan
    undeclared = Run("gpt", 1024, steps, loss)
    declared = Run("mamba", 1024, steps, loss, diverged=False)
    found = {r.run_id: detect_run(r) for r in (undeclared, declared)}
    summary = summarize([undeclared, declared], detections=found)
    got, kept = summary["gpt"]["1024"], summary["mamba"]["1024"]
    assert got["diverged"] is True and got["divergence_step"] == 300
    assert got["detection"]["divergence_step"] == 300
    assert kept["diverged"] is False and kept["divergence_step"] is None
    assert kept["detection"]["diverged"] is True
    json.loads(to_json(summary))  # strict: no NaN literals anywhere


# --- real logs (read in place; skipped when absent or when the loaders are not there) -------


@pytest.fixture
def load_results():
    loaders = pytest.importorskip("stabgraph_core.loaders")
    return loaders.load_results


def _by_name(runs, fragment: str, exact: bool = False) -> Run:
    matches = [
        r for r in runs if (r.display_name == fragment if exact else fragment in r.display_name)
    ]
    assert len(matches) == 1, [r.display_name for r in runs]
    return matches[0]


def test_real_wandb_export(real_data: Path, load_results) -> None:
    runs = load_results(real_data / "nanogpt-wandb").runs
    baseline = detect_run(_by_name(runs, "gpt2", exact=True))
    assert not baseline.diverged and baseline.spikes == ()
    blown = detect_run(_by_name(runs, "1729534595"))
    # 3.70 until step 55, then 3.83, 3.84, 4.15, 4.14, 4.79 and 8.52 at step 61
    assert blown.diverged and blown.divergence_step == 56
    assert "8.525 at step 61" in blown.reason and "never came back" in blown.reason
    # 3.76-3.79 at steps 30-33, 3.86 at 34, 4.10 at 35, 7.38 at 37: the rise began at 34-35
    early = detect_run(_by_name(runs, "1729491541"))
    assert early.diverged and 34 <= early.divergence_step <= 35
    # flat ~8.0, then 14.29 at step 84: the jump's first point
    late = detect_run(_by_name(runs, "last_char_token_to_char"))
    assert late.diverged and late.divergence_step == 84
    spiky = detect_run(_by_name(runs, "augmented"))
    assert not spiky.diverged and spiky.spikes[0].peak == 41


def test_real_bigscience_spikes_recover_and_exp12_diverges(real_data: Path, load_results) -> None:
    runs = load_results(real_data / "bigscience").runs
    spike = detect_run(_by_name(runs, "176B"))
    assert not spike.diverged and spike.spikes[0].peak == 31219
    exp12 = detect_run(_by_name(runs, "exp12"))
    assert exp12.diverged and exp12.divergence_step <= 9027
    # the 13B excerpt ends five points into a spike, already 31% of the way back down
    cut = detect_run(_by_name(runs, "13B"))
    assert not cut.diverged and cut.spikes == (Spike(start=29050, peak=29060, end=29090),)
    assert "still recovering when the log ends" in cut.reason


def test_real_modded_nanogpt_timing_nan_is_not_a_nan_loss(real_data: Path, load_results) -> None:
    for run in load_results(real_data / "modded-nanogpt").runs:
        found = detect_run(run)
        assert not found.diverged and found.first_nonfinite_step is None, run.display_name


# --- command line -----------------------------------------------------------------------------


def test_cli_detect_only_prints_each_run_and_writes_nothing(tmp_path, capsys, monkeypatch) -> None:
    from stabgraph_core.cli import main

    monkeypatch.chdir(tmp_path)
    code = main(["--simulate", "--sequence_lengths", "32768", "--detect-only"])
    printed = capsys.readouterr().out
    assert code == 0
    assert "Mamba 32k: diverged @ " in printed and "(declared: diverged @ 600)" in printed
    assert "ResNet-BK 32k: stable (declared: no divergence)" in printed
    assert list(tmp_path.iterdir()) == []


def test_cli_detector_flags_are_checked_and_applied(tmp_path, capsys, monkeypatch) -> None:
    from stabgraph_core.cli import main

    monkeypatch.chdir(tmp_path)
    assert main(["--simulate", "--detect-only", "--detect-ratio", "0.5"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "ratio must be > 1" in err
    assert main(["--simulate", "--detect-only", "--detect-sigmas", "9"]) == 0
    assert "7 noise widths" not in capsys.readouterr().out


def test_describe_says_the_same_of_a_detection_and_of_its_summary_block() -> None:
    steps, healthy = decaying()
    spiky = healthy.copy()
    spiky[200:206] = [6.0, 9.0, 8.0, 6.0, 4.5, 3.5]
    blown = healthy.copy()
    blown[300:] = np.nan
    labels = []
    for loss in (healthy, spiky, blown):
        found = detect(steps, loss)
        assert describe(json.loads(to_json(found.to_dict()))) == describe(found)
        labels.append(describe(found))
    assert labels == ["stable", "1 spike", "diverged @ 300"]
