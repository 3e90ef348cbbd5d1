"""TensorBoard event files, written with tensorboard's own event writer."""

from __future__ import annotations

import builtins

import pytest

from stabgraph_core.errors import LoadError
from stabgraph_core.loaders import tensorboard


@pytest.fixture
def train_and_val_events(tmp_path, write_events):
    """mamba/seq32768/seed1/events.out.tfevents.*: train_loss = 2k + 1 (k = 0..4),
    val_loss = 10 - k at k = 0, 2, 4.

    tmp/
    └── mamba/seq32768/seed1/events.out.tfevents.<time>.<host>...
    """
    return write_events(
        tmp_path / "mamba" / "seq32768" / "seed1",
        {
            "train_loss": [(k, 2.0 * k + 1) for k in range(5)],
            "val_loss": [(k, 10.0 - k) for k in (0, 2, 4)],
        },
    )


def test_default_tag_is_the_first_present(train_and_val_events):
    (run,) = tensorboard.read(train_and_val_events)
    assert run.steps.tolist() == [0, 1, 2, 3, 4]
    assert run.loss.tolist() == [1.0, 3.0, 5.0, 7.0, 9.0]
    assert run.metadata["tag"] == "train_loss"


def test_tag_option_picks_another_scalar(train_and_val_events):
    (run,) = tensorboard.read(train_and_val_events, tag="val_loss")
    assert run.steps.tolist() == [0, 2, 4] and run.loss.tolist() == [10.0, 8.0, 6.0]


def test_missing_tag_lists_what_is_there(train_and_val_events):
    with pytest.raises(LoadError, match="no scalar tag 'lm loss'.*'train_loss'"):
        tensorboard.read(train_and_val_events, tag="lm loss")


def test_no_default_tag_asks_for_one(tmp_path, write_events):
    path = write_events(tmp_path, {"accuracy": [(0, 0.5)]})
    with pytest.raises(LoadError, match="use --tag"):
        tensorboard.read(path)


def test_missing_tensorboard_gives_an_install_hint(tmp_path, monkeypatch, write_events):
    path = write_events(tmp_path, {"loss": [(0, 1.0)]})
    real_import = builtins.__import__

    def no_tensorboard(name, *args, **kwargs):
        if name.startswith("tensorboard"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_tensorboard)
    with pytest.raises(LoadError, match="pip install tensorboard"):
        tensorboard.read(path)
