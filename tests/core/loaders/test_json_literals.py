"""NaN/Infinity literals (written by Python's json module) in every layout json.dumps makes."""

from __future__ import annotations

import json
import math

import pytest

from stabgraph_core.loaders import reference_json

VALUES = [1.0, float("nan"), float("inf"), float("-inf"), None, 2.5]


@pytest.mark.parametrize(
    "dump",
    [
        lambda d: json.dumps(d),
        lambda d: json.dumps(d, separators=(",", ":")),
        lambda d: json.dumps(d, indent=1),
        lambda d: json.dumps(d, indent=4),
        lambda d: json.dumps(d, indent="\t"),
    ],
    ids=["default", "compact", "indent1", "indent4", "tabs"],
)
def test_every_layout_reads_back_exactly(tmp_path, dump):
    record = {"note": "loss went NaN, then -Infinity", "seq_len": 8, "steps": list(range(6))}
    record["loss"] = VALUES
    path = tmp_path / "mamba_seq8.json"
    path.write_text(dump(record))
    (run,) = reference_json.read(path)
    got = run.loss.tolist()
    assert got[0] == 1.0 and math.isnan(got[1]) and got[2] == math.inf and got[3] == -math.inf
    assert got[4] == 2.5 and len(got) == 5  # null: no value logged, so no point
    assert run.steps.tolist() == [0, 1, 2, 3, 5]
