"""TensorBoard UI downloads (CSV and JSON)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from stabgraph_core.errors import LoadError
from stabgraph_core.loaders import tb_export


def test_csv_export(tmp_path):
    """resnetbk_seq8192.csv: Value = 2k + 1 at step 10k, wall time 100 + k; NaN at k = 3."""
    rows = ["Wall time,Step,Value"] + [
        f"{100 + k},{10 * k},{'nan' if k == 3 else 2 * k + 1}" for k in range(5)
    ]
    path = tmp_path / "resnetbk_seq8192.csv"
    path.write_text("\n".join(rows) + "\n")
    (run,) = tb_export.read(path)
    assert (run.model, run.seq_len) == ("resnetbk", 8192)
    assert run.steps.tolist() == [0, 10, 20, 30, 40]
    assert run.loss[[0, 1, 2, 4]].tolist() == [1.0, 3.0, 5.0, 9.0] and np.isnan(run.loss[3])
    assert run.extra["wall_time"].tolist() == [100.0, 101.0, 102.0, 103.0, 104.0]


def test_json_export(tmp_path):
    path = tmp_path / "mamba_seq8192.json"
    path.write_text(json.dumps([[100.0 + k, k, 2.0 * k + 1] for k in range(4)]))
    (run,) = tb_export.read(path)
    assert run.steps.tolist() == [0, 1, 2, 3] and run.loss.tolist() == [1.0, 3.0, 5.0, 7.0]


def test_json_row_of_wrong_width_is_named(tmp_path):
    path = tmp_path / "run.json"
    path.write_text(json.dumps([[1.0, 0, 2.0], [1.0, 1]]))
    with pytest.raises(LoadError, match=r"row 1 is not \[wall_time, step, value\]"):
        tb_export.read(path)
