"""The run model: labels, validation, selection; and the core never imports Dash."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from stabgraph_core import InvalidArgumentError, Run, RunSet, length_label, model_display_name


@pytest.mark.parametrize(
    ("n", "label"),
    [
        (8192, "8k"),
        (32768, "32k"),
        (131072, "128k"),
        (524288, "512k"),
        (1048576, "1M"),
        (4096, "4k"),
        (1000, "1000"),
        (2 * 1048576, "2M"),
        (None, "?"),
    ],
)
def test_length_labels(n, label):
    assert length_label(n) == label


def test_display_names():
    assert model_display_name("resnetbk") == "ResNet-BK"
    assert model_display_name("mamba") == "Mamba"
    assert model_display_name("gpt2-xl") == "gpt2-xl"
    r = Run("mamba", 32768, [0, 1], [1.0, 2.0], seed=3)
    assert r.display_name == "Mamba 32k seed 3"


def test_arrays_typed_and_nonfinite_kept():
    r = Run("m", 8, [0, 1, 2], [1.0, float("nan"), float("inf")])
    assert r.steps.dtype == np.int64 and r.loss.dtype == np.float64
    assert np.isnan(r.loss[1]) and np.isinf(r.loss[2])


def test_length_mismatch_rejected():
    with pytest.raises(InvalidArgumentError, match="3 steps but 2 loss"):
        Run("m", 8, [0, 1, 2], [1.0, 2.0])
    with pytest.raises(InvalidArgumentError, match="grad_norm"):
        Run("m", 8, [0, 1], [1.0, 2.0], extra={"grad_norm": [1.0]})


def test_equality_is_by_value_with_nan():
    a = Run("m", 8, [0, 1], [1.0, float("nan")])
    b = Run("m", 8, np.array([0, 1]), np.array([1.0, np.nan]))
    assert a == b and a != a.with_(seed=1)


def test_runset_select():
    runs = RunSet(
        Run(m, n, [0], [1.0], seed=s)
        for m in ("resnetbk", "mamba")
        for n in (8192, 32768)
        for s in (1, 2)
    )
    assert runs.models == ["resnetbk", "mamba"] and runs.lengths == [8192, 32768]
    assert len(runs.select(models=["mamba"])) == 4
    assert len(runs.select(models=["mamba"], lengths=[8192], seeds=[2])) == 1
    with pytest.raises(InvalidArgumentError):
        runs.select(models="mamba")


def test_core_imports_no_dash():
    code = (
        "import sys, stabgraph_core, stabgraph_core.cli; "
        "print([m for m in sys.modules if m.split('.')[0] in ('dash', 'flask')])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
