"""Simulation reproduces the old script's numbers: the shared golden and any other seed."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from stabgraph_core import InvalidArgumentError, simulate, summarize


def legacy_script(lengths, num_steps, seed):
    """The old script's documented algorithm, on NumPy's *global* legacy generator."""
    out = {}
    for model in ("resnetbk", "mamba"):
        np.random.seed(seed)
        for n in lengths:
            steps = np.arange(num_steps)
            if model == "mamba" and n > 32768:
                d = 200 + int(100 * np.random.random())
            loss = 4.0 * np.exp(-0.003 * steps)
            loss += np.random.normal(0, 0.05, num_steps)
            if model == "resnetbk":
                loss += 0.2 * np.log10(n / 8192)
                loss = np.clip(loss, 0.5, 10.0)
            elif n > 8192:
                if n <= 32768:
                    d, rate, k = 600, 0.01, 5
                else:
                    rate, k = 0.02, 20
                loss[steps >= d] *= np.exp(rate * (steps[steps >= d] - d))
                if num_steps > d:
                    idx = np.random.choice(
                        np.arange(d, num_steps), size=min(k, num_steps - d), replace=False
                    )
                    loss[idx] = np.nan
            out[(model, n)] = loss
    return out


def test_matches_shared_golden(reference_dir):
    golden = json.loads((reference_dir / "reference_summary_seed42_n1000.json").read_text())
    ours = summarize(simulate())
    for model in ("resnetbk", "mamba", "comparison"):
        assert set(ours[model]) == set(golden[model])
        for key, fields in golden[model].items():
            for name, expected in fields.items():
                got = ours[model][key][name]
                if isinstance(expected, float):
                    assert math.isclose(got, expected, rel_tol=1e-12), (model, key, name)
                else:
                    assert got == expected, (model, key, name)


@pytest.mark.parametrize(
    ("lengths", "num_steps", "seed"),
    [
        ((8192, 32768, 131072, 524288, 1048576), 1000, 7),
        ((1048576, 8192, 65536), 1500, 123),  # order matters
        ((4096, 16384, 65536, 262144), 250, 0),  # ends before the 32k onset at 600
        ((32768,), 603, 99),  # fewer steps after the onset than NaNs to place
        ((131072,), 1, 5),
    ],
)
def test_arrays_equal_legacy_algorithm(lengths, num_steps, seed):
    expected = legacy_script(lengths, num_steps, seed)
    runs = simulate(lengths, num_steps, seed)
    assert len(runs) == 2 * len(lengths)
    for run in runs:
        np.testing.assert_allclose(run.loss, expected[(run.model, run.seq_len)], rtol=1e-12)
        assert run.steps.dtype == np.int64 and run.loss.dtype == np.float64


def test_declared_divergence():
    runs = simulate((8192, 32768, 131072), 1000, 42)
    assert runs.get("resnetbk", 131072).diverged is False
    assert runs.get("mamba", 8192).diverged is False
    m32 = runs.get("mamba", 32768)
    assert (m32.diverged, m32.divergence_step) == (True, 600)
    assert int(np.isnan(m32.loss).sum()) == 5 and np.isnan(m32.loss[:600]).sum() == 0
    m128 = runs.get("mamba", 131072)
    assert 200 <= m128.divergence_step < 300 and int(np.isnan(m128.loss).sum()) == 20


def test_declared_even_when_run_ends_before_onset():
    run = simulate((32768,), 100, 1).get("mamba", 32768)
    assert run.diverged is True and run.divergence_step == 600
    assert not np.isnan(run.loss).any()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"num_steps": 0}, "--num_steps must be positive"),
        ({"num_steps": -5}, "--num_steps must be positive"),
        ({"lengths": (8192, 0)}, "sequence lengths must be positive"),
        ({"lengths": (-1,)}, "sequence lengths must be positive"),
        ({"lengths": ()}, "at least one sequence length"),
    ],
)
def test_rejects_bad_arguments(kwargs, message):
    with pytest.raises(InvalidArgumentError, match=message):
        simulate(**kwargs)
