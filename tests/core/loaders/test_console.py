"""Console logs: the four presets and a user regex."""

from __future__ import annotations

import numpy as np
import pytest

from stabgraph_core.errors import InvalidArgumentError, LoadError
from stabgraph_core.loaders import console


def write(tmp_path, name, lines):
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    return path


def test_nanogpt_ignores_eval_lines(tmp_path):
    lines = ["step 0: train loss 9.0, val loss 9.1"]
    lines += [f"iter {k}: loss {2 * k + 1:.4f}, time 300.0ms, mfu 10.0%" for k in range(4)]
    (run,) = console.read(write(tmp_path, "out.log", lines))
    assert run.metadata["preset"] == "nanogpt"
    assert run.steps.tolist() == [0, 1, 2, 3] and run.loss.tolist() == [1.0, 3.0, 5.0, 7.0]


def test_llmc_keeps_lr_and_norm(tmp_path):
    lines = ["s:0 tel:11.0"] + [f"s:{k} trl:{2 * k + 1} lr:0.001 norm:{k / 2}" for k in range(3)]
    (run,) = console.read(write(tmp_path, "main.log", lines))
    assert run.metadata["preset"] == "llmc"
    assert run.loss.tolist() == [1.0, 3.0, 5.0]
    assert run.extra["grad_norm"].tolist() == [0.0, 0.5, 1.0]


def test_modded_nanogpt_step_avg_nan_is_not_a_loss(tmp_path):
    lines = ["step:0/4 val_loss:10.0 train_time:1ms step_avg:nanms"]
    lines += [f"step:{k}/4 train_loss:{2 * k + 1} train_time:{k}ms step_avg:nanms" for k in (1, 2)]
    lines += ["step:3/4 train_loss:nan train_time:3ms step_avg:1.00ms"]
    (run,) = console.read(write(tmp_path, "log.txt", lines))
    assert run.metadata["preset"] == "modded-nanogpt"
    assert run.steps.tolist() == [1, 2, 3]
    assert run.loss[:2].tolist() == [3.0, 5.0] and np.isnan(run.loss[2])
    assert np.isfinite(run.loss[:2]).all()


def test_megatron_missing_lm_loss_is_a_nan_iteration(tmp_path):
    def line(k, loss):
        field = f" lm loss: {loss:E} |" if loss is not None else ""
        rate = "learning rate: 6.000E-05 |"
        return f"[default0]: iteration {k:8d}/  1000 | {rate}{field} grad norm: {k}.0 |"

    lines = [line(1, 3.0), "time (ms)", line(2, 5.0), line(3, None), line(4, 9.0)]
    lines.append(" validation loss at iteration 4 | lm loss value: 7.174200E+00 |")
    (run,) = console.read(write(tmp_path, "megatron.txt", lines))
    assert run.steps.tolist() == [1, 2, 3, 4]
    assert run.loss[[0, 1, 3]].tolist() == [3.0, 5.0, 9.0] and np.isnan(run.loss[2])
    assert run.extra["grad_norm"].tolist() == [1.0, 2.0, 3.0, 4.0]
    assert any("without 'lm loss'" in n and ": 3" in n for n in run.notes)


def test_user_regex_with_extra_group(tmp_path):
    lines = [f"[{k}] train step={10 * k} L={2 * k + 1} tok/s={k * 100}" for k in range(3)]
    regex = r"step=(?P<step>\d+) L=(?P<loss>\S+) tok/s=(?P<throughput>\d+)"
    (run,) = console.read(write(tmp_path, "custom.out", lines), regex=regex)
    assert run.steps.tolist() == [0, 10, 20] and run.loss.tolist() == [1.0, 3.0, 5.0]
    assert run.extra["throughput"].tolist() == [0.0, 100.0, 200.0]


def test_preset_option_forces_the_format(tmp_path):
    path = write(tmp_path, "x.log", ["iter 1: loss 2.0, time 1ms", "s:1 trl:3.0"])
    (run,) = console.read(path, preset="llmc")
    assert run.loss.tolist() == [3.0]


def test_regex_without_loss_group_is_rejected():
    with pytest.raises(InvalidArgumentError, match="loss missing"):
        console.compile_regex(r"step (?P<step>\d+)")


def test_bad_loss_text_names_its_line(tmp_path):
    path = write(tmp_path, "x.log", ["s:0 trl:1.0", "s:1 trl:1.0.0"])
    with pytest.raises(LoadError, match=r"line 2: loss '1.0.0' is not a number"):
        console.read(path)
