"""PyTorch Lightning ``metrics.csv`` and plain ``step,loss`` CSVs."""

from __future__ import annotations

import pytest

from stabgraph_core.errors import LoadError
from stabgraph_core.loaders import lightning_csv


@pytest.fixture
def sparse_metrics(tmp_path):
    """lightning_logs/version_0/metrics.csv: train_loss_step = 2k + 1 at steps 0..3, plus
    validation rows (val_loss only) at steps 1 and 3, as Lightning writes them.
    """
    rows = ["epoch,step,train_loss_step,val_loss"]
    for k in range(4):
        rows.append(f"0,{k},{2 * k + 1},")
        if k % 2:
            rows.append(f"0,{k},,{10 - k}")
    folder = tmp_path / "lightning_logs" / "version_0"
    folder.mkdir(parents=True)
    path = folder / "metrics.csv"
    path.write_text("\n".join(rows) + "\n")
    return path


def test_default_column_and_sparse_rows(sparse_metrics):
    (run,) = lightning_csv.read(sparse_metrics)
    assert run.steps.tolist() == [0, 1, 2, 3] and run.loss.tolist() == [1.0, 3.0, 5.0, 7.0]
    assert run.metadata["loss_column"] == "train_loss_step"
    assert run.extra["epoch"].tolist() == [0.0, 0.0, 0.0, 0.0]


def test_tag_selects_the_validation_column(sparse_metrics):
    (run,) = lightning_csv.read(sparse_metrics, tag="val_loss")
    assert run.steps.tolist() == [1, 3] and run.loss.tolist() == [9.0, 7.0]


def test_plain_step_loss_csv_with_identity_in_name(tmp_path):
    path = tmp_path / "resnetbk_seq8192_seed2.csv"
    path.write_text("step,loss\n0,4.0\n1,3.5\n2,inf\n")
    (run,) = lightning_csv.read(path)
    assert (run.model, run.seq_len, run.seed) == ("resnetbk", 8192, 2)
    assert run.loss.tolist() == [4.0, 3.5, float("inf")]


def test_text_in_the_loss_column_names_the_line(tmp_path):
    path = tmp_path / "metrics.csv"
    path.write_text("step,loss\n0,4.0\n1,oops\n")
    with pytest.raises(LoadError, match=r"line 3: column 'loss': 'oops' is not a number"):
        lightning_csv.read(path)
