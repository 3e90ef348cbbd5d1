"""The real logs in ``../shared/data/real`` (read in place), with facts checked by reading them.

Each expected number below was read off the raw file (line numbers in the comments).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from stabgraph_core.loaders import clear_cache, load_results

# Same location rule as the ``real_data`` fixture in tests/conftest.py, at module scope so the
# folder is parsed once for this file rather than once per test.
SHARED = Path(
    os.environ.get("STABGRAPH_SHARED", Path(__file__).resolve().parents[3].parent / "shared")
)
REAL = SHARED / "data" / "real"


@pytest.fixture(scope="module")
def real():
    """All real logs loaded once through the public entry point."""
    if not REAL.is_dir():
        pytest.skip(f"real logs not found at {REAL} (set STABGRAPH_SHARED)")
    clear_cache()
    result = load_results(REAL)
    clear_cache()
    return result, {(r.source, r.model): r for r in result.runs}


def by_source(result, source):
    return [r for r in result.runs if r.source == source]


def test_every_real_file_loads_except_the_empty_long_context_run(real):
    result, _ = real
    assert len(result.runs) == 20  # 4 Megatron + 3 console + 8 W&B + 3 ResNet-BK + 1 + 1
    (error,) = result.errors
    assert error.path == "resnet-bk/long_context_results.json"
    assert "no loss values in" in error.reason


def test_wandb_export_has_eight_runs(real):
    result, _ = real
    runs = by_source(result, "nanogpt-wandb/wandb_export.csv")
    assert len(runs) == 8
    points = {r.model: r.steps.size for r in runs}
    assert points["gpt2"] == 386
    assert points["gpt2_last_char_to_char1729642919.4054031"] == 51
    assert points["gpt2_char_to_token1729578574.2848036"] == 150
    assert all(np.isfinite(r.loss).all() for r in runs)  # W&B wrote no NaN, only empty cells


def test_wandb_gpt2_values_and_the_run_with_a_gap(real):
    _, runs = real
    gpt2 = runs[("nanogpt-wandb/wandb_export.csv", "gpt2")]
    assert gpt2.steps[0] == 0 and gpt2.steps[-1] == 385
    assert gpt2.loss[0] == 10.95404052734375 and gpt2.loss[-1] == 3.2849113941192627
    assert gpt2.loss[199] == 3.3339245319366455  # line 201: "199", ..., "3.3339245319366455"
    gap = runs[("nanogpt-wandb/wandb_export.csv", "gpt2_last_char_token_to_char1729587337.8266432")]
    assert gap.steps.size == 166 and gap.steps[-1] == 166
    assert 163 not in gap.steps  # the cell at step 163 is empty
    assert gap.loss[-1] == pytest.approx(12.2328, abs=1e-4)  # blew up late and stayed up


def test_nanogpt_console(real):
    _, runs = real
    run = runs[("nanogpt-console/output.log", "output")]
    assert run.steps.size == 2547 and (run.steps[0], run.steps[-1]) == (0, 2546)
    assert (run.loss[0], run.loss[-1]) == (10.9766, 3.5074)
    assert run.loss[1234] == 4.1872  # line 1248: "iter 1234: loss 4.1872, ..."
    assert np.isfinite(run.loss).all()


def test_llmc_log_with_grad_norm(real):
    _, runs = real
    run = runs[("modded-nanogpt/2024-10-13_llmc_main.log", "2024-10-13_llmc_main")]
    assert run.steps.size == 19560 and (run.steps[0], run.steps[-1]) == (0, 19559)
    assert (run.loss[0], run.loss[-1]) == (11.0091, 3.2217)
    assert run.loss[10000] == 3.3851 and run.extra["grad_norm"][10000] == 0.30  # line 10042
    assert run.extra["grad_norm"][0] == 15.37


def test_modded_nanogpt_step_avg_nan_is_not_a_nan_loss(real):
    _, runs = real
    run = runs[
        (
            "modded-nanogpt/2024-10-10_Muon_eb5659d0.log-only.txt",
            "2024-10-10_Muon_eb5659d0.log-only",
        )
    ]
    assert run.steps.size == 6200 and (run.steps[0], run.steps[-1]) == (1, 6200)
    assert (run.loss[0], run.loss[-1]) == (10.9184, 3.2533)
    assert run.loss[11] == 6.6519  # step 12, the last line with step_avg:nanms
    assert run.loss[2999] == 3.4469  # line 3083, step 3000 (its val_loss line is not a point)
    assert not np.isnan(run.loss).any()


def test_megatron_spikes_and_the_missing_loss_iteration(real):
    result, _ = real
    (tr1,) = by_source(result, "bigscience/tr1-13B_spike_it29050.txt")
    assert tr1.steps.tolist() == list(range(29020, 29100, 10))
    assert tr1.loss[3] == 7.343709  # the spike at iteration 29050
    (tr11,) = by_source(result, "bigscience/tr11-176B_spike_it31219.txt")
    assert tr11.steps.tolist() == [*range(31214, 31223), 31250, 31251]  # "[...]" gap
    assert tr11.loss[5] == 5.098124 and tr11.extra["grad_norm"][5] == 960.351
    assert tr11.extra["tokens"][0] == 97829879808  # "consumed tokens:  97829879808"
    assert "tokens" not in tr1.extra  # the 13B run did not log tokens
    (exp12,) = by_source(result, "bigscience/tr8-104B_exp12_spike_it8741_then_diverged_it9027.txt")
    assert exp12.steps.tolist() == [8738, 8739, 8740, 8741, 8742, 8743, 9026, 9027]
    assert np.flatnonzero(np.isnan(exp12.loss)).tolist() == [7]  # iteration 9027: no lm loss
    assert any("9027" in note for note in exp12.notes)
    (exp1,) = by_source(result, "bigscience/tr8-104B_exp1_glitch_it7000.txt")
    assert exp1.steps.tolist() == [7000, 7010, 7220]  # the validation line is not an iteration
    assert exp1.loss.tolist() == [6.444662, 11.42026, 7.155109]


def test_tensorboard_events(real):
    result, _ = real
    (run,) = by_source(
        result, "tensorboard-events/events.out.tfevents.1716735746.99c8c45923de.3769.0"
    )
    assert run.metadata["tag"] == "train_loss"
    assert run.steps.size == 7691 and (run.steps[0], run.steps[-1]) == (49, 384549)
    assert run.loss[0] == pytest.approx(2.0573372840881348)
    assert run.loss[-1] == pytest.approx(0.23888538777828217)
    # checked with tensorboard's own EventFileLoader: the 1001st train_loss event
    assert run.steps[1000] == 50049 and run.loss[1000] == pytest.approx(0.2675916850566864)
    assert set(run.metadata["tags"]) == {"epoch", "train_loss", "val_loss", "hp_metric"}


def test_llamafactory_jsonl(real):
    _, runs = real
    run = runs[("llamafactory-jsonl/trainer_log.jsonl", "trainer_log")]
    assert run.steps.size == 435 and (run.steps[0], run.steps[-1]) == (5, 2175)
    assert (run.loss[0], run.loss[-1]) == (2.3475, 1.9787)
    assert run.loss[99] == 2.0042  # line 100: current_steps 500
    assert "1 line without 'loss' skipped" in run.notes  # the final summary line


def test_resnet_bk_logs(real):
    _, runs = real
    phase2 = runs[("resnet-bk/phase2_demo_training_log.json", "phase2_demo_training_log")]
    assert phase2.steps.size == 1000 and (phase2.steps[0], phase2.steps[-1]) == (0, 999)
    assert phase2.loss[500] == 1.941049096467854
    assert phase2.extra["perplexity"][500] == 6.96605520245322
    phase7 = runs[("resnet-bk/phase7_training_log.json", "phase7_training_log")]
    assert phase7.steps.tolist() == [50, 100]
    assert phase7.loss.tolist() == [10.824256896972656, 10.824462890625]
    phase8 = runs[("resnet-bk/phase8_300m_training_log.json", "phase8_300m_training_log")]
    assert phase8.steps.size == 1000 and (phase8.steps[0], phase8.steps[-1]) == (20008, 28000)
    assert phase8.loss[-1] == 6.045788764953613
    assert phase8.steps[500] == 24008 and phase8.loss[500] == 6.357720196247101
    assert phase8.extra["grad_norm_raw"][500] == 11.26838207244873


def test_unidentified_real_files_say_so(real):
    result, _ = real
    for run in result.runs:
        if run.source.startswith("nanogpt-wandb/"):
            continue  # the W&B run name is the model
        folder, name = run.source.rsplit("/", 1)
        assert run.seq_len is None
        if name.startswith("events.out.tfevents."):  # TensorBoard's run: its folder
            assert run.model == folder.rsplit("/", 1)[-1]
            assert any("using the folder name as the model" in note for note in run.notes)
            continue
        assert run.model == name.rsplit(".", 1)[0]
        assert any("using the file name as the model" in note for note in run.notes)
