"""W&B chart CSV export: several runs per file."""

from __future__ import annotations

import numpy as np
import pytest

from stabgraph_core.loaders import wandb_csv


@pytest.fixture
def two_run_export(tmp_path):
    """export.csv, steps 0..5: run "mamba_seq8192_seed1" logs 2k + 1 at every step (NaN at 4);
    run "baseline" logs 10 - k at even steps only (empty cells elsewhere). Each run has
    __MIN/__MAX columns that must be ignored.
    """
    header = ['"Step"']
    for name in ("mamba_seq8192_seed1", "baseline"):
        header += [
            f'"{name} - train/loss"',
            f'"{name} - train/loss__MIN"',
            f'"{name} - train/loss__MAX"',
        ]
    lines = [",".join(header)]
    for k in range(6):
        a = "NaN" if k == 4 else str(2 * k + 1)
        b = str(10 - k) if k % 2 == 0 else ""
        lines.append(",".join(f'"{v}"' for v in (k, a, "0", "99", b, "0", "99")))
    path = tmp_path / "export.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_one_run_per_wandb_run(two_run_export):
    mamba, baseline = wandb_csv.read(two_run_export)
    assert (mamba.model, mamba.seq_len, mamba.seed) == ("mamba", 8192, 1)
    assert baseline.model == "baseline" and baseline.seq_len is None


def test_empty_cells_are_no_point_and_nan_is_kept(two_run_export):
    mamba, baseline = wandb_csv.read(two_run_export)
    assert baseline.steps.tolist() == [0, 2, 4] and baseline.loss.tolist() == [10.0, 8.0, 6.0]
    assert mamba.steps.tolist() == list(range(6))
    assert np.isnan(mamba.loss[4]) and mamba.loss[5] == 11.0


def test_min_max_columns_are_ignored(two_run_export):
    mamba, _ = wandb_csv.read(two_run_export)
    assert mamba.extra == {} and mamba.metadata["metric"] == "train/loss"
