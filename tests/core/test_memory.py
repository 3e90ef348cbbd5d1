"""Peak memory and out-of-memory from a run's series, metadata and ``results_by_length``, and
the memory comparison figure built from them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import pytest

from stabgraph_core.figure import DIVERGENCE_COLOR, build_memory_figure, memory_figure_dict
from stabgraph_core.figure._memory import (
    LENGTH_AXIS_TITLE,
    MEMORY_AXIS_TITLE,
    NO_LENGTH_TEXT,
    NO_MEMORY_TEXT,
)
from stabgraph_core.figure._style import OTHER_COLORS
from stabgraph_core.loaders import long_context
from stabgraph_core.model import Run
from stabgraph_core.page import HEIGHT_PX, WIDTH_PX
from stabgraph_core.series import peak_memory_gb, ran_out_of_memory, says_out_of_memory
from stabgraph_core.simulation import simulate

STEPS = np.arange(40)


def _run(
    model: str = "mamba",
    seq_len: int | None = 8192,
    *,
    seed: int | None = None,
    memory: dict[str, float] | None = None,
    metadata: dict | None = None,
    notes: tuple[str, ...] = (),
    diverged: bool | None = False,
) -> Run:
    extra = {name: np.full(STEPS.size, value) for name, value in (memory or {}).items()}
    return Run(
        model,
        seq_len,
        STEPS,
        4.0 - STEPS / 100,
        seed=seed,
        extra=extra,
        metadata=metadata or {},
        notes=notes,
        diverged=diverged,
        divergence_step=20 if diverged else None,
    )


# ---- peak_memory_gb -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("record", "gb"),
    [
        ({"peak_memory_gb": 12.5}, 12.5),
        ({"memory_gb": 3.0}, 3.0),
        ({"memory_allocated_gb": 0.75}, 0.75),
        ({"peak_memory_mb": 2048}, 2.0),
        ({"max_memory_allocated": 3 * (1 << 30)}, 3.0),
        # first name in table order wins, not the largest number
        ({"memory_allocated_gb": 5.0, "max_memory_reserved": 8 * (1 << 30)}, 5.0),
    ],
)
def test_peak_memory_reads_results_by_length_in_each_unit(record, gb) -> None:
    run = _run(metadata={"results_by_length": record})
    assert peak_memory_gb(run) == pytest.approx(gb)


def test_results_by_length_as_a_list_of_epochs_gives_the_largest() -> None:
    epochs = [{"avg_loss": 1.0, "memory_gb": 4.0}, {"memory_gb": 6.5}, {"memory_gb": None}]
    assert peak_memory_gb(_run(metadata={"results_by_length": epochs})) == pytest.approx(6.5)


def test_peak_memory_is_the_largest_of_series_and_stated_figures() -> None:
    run = _run(memory={"memory_gb": 3.0}, metadata={"results_by_length": {"peak_memory_gb": 5.0}})
    assert peak_memory_gb(run) == pytest.approx(5.0)
    run = _run(memory={"memory_gb": 7.0}, metadata={"peak_memory_gb": 5.0})
    assert peak_memory_gb(run) == pytest.approx(7.0)


@pytest.mark.parametrize(
    "record",
    [{}, {"avg_loss": 1.0, "epoch_time": 3.0}, {"memory_gb": True}, {"memory_gb": "12"},
     {"memory_gb": float("nan")}, {"memory_gb": float("inf")}],
)  # fmt: skip
def test_no_memory_is_none_never_a_guess(record) -> None:
    assert peak_memory_gb(_run(metadata={"results_by_length": record})) is None


def test_long_context_loader_keeps_results_by_length_memory_and_oom(tmp_path: Path) -> None:
    history = [
        {"step": k + 1 + 20 * i, "seq_len": n, "loss": 4.0 - k / 50}
        for i, n in enumerate((8192, 65536))
        for k in range(20)
    ]
    data = {
        "model": "resnetbk",
        "metrics_history": history,
        "results_by_length": {
            "8192": {"avg_loss": 3.8, "max_memory_allocated_gb": 9.25},
            "65536": {"status": "failed: CUDA out of memory. Tried to allocate 2.00 GiB"},
        },
    }
    path = tmp_path / "long_context_results.json"
    path.write_text(json.dumps(data))
    runs = {r.seq_len: r for r in long_context.read(path)}
    assert peak_memory_gb(runs[8192]) == pytest.approx(9.25)
    assert not ran_out_of_memory(runs[8192])
    assert peak_memory_gb(runs[65536]) is None
    assert ran_out_of_memory(runs[65536])


# ---- ran_out_of_memory ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "metadata",
    [
        {"oom": True},
        {"out_of_memory": True},
        {"status": "OOM"},
        {"status": "oom-killed"},
        {"error": "torch.cuda.OutOfMemoryError: CUDA out of memory. Tried to allocate 20 GiB"},
        {"stop_reason": "Out Of Memory"},
        {"stop_reason": "out_of_memory"},
        {"results_by_length": {"oom": True}},
        {"results_by_length": {"status": "CUDA_OOM at step 12"}},
        {"results_by_length": [{"avg_loss": 2.0}, {"error": "out of memory"}]},
    ],
)
def test_ran_out_of_memory_when_the_source_says_so(metadata) -> None:
    assert ran_out_of_memory(_run(metadata=metadata))


@pytest.mark.parametrize(
    "metadata",
    [
        {},
        {"oom": False},
        {"oom": "false"},
        {"oom": 1},  # a count or a flag? not a statement
        {"status": "finished"},
        {"status": "zoom level 2"},
        {"error": "room temperature"},
        {"stop_reason": "bloom filter full"},
        {"status": "memory usage 80%"},
        {"comment": "out of memory"},  # not a field that says why the run stopped
        {"results_by_length": {"status": "completed"}},
        {"args": {"status": "OOM"}},  # only the top level and results_by_length count
    ],
)
def test_ran_out_of_memory_is_never_guessed(metadata) -> None:
    assert not ran_out_of_memory(_run(metadata=metadata))


def test_a_loader_note_saying_out_of_memory_counts() -> None:
    assert ran_out_of_memory(_run(notes=("training stopped: CUDA out of memory at step 40",)))
    assert not ran_out_of_memory(_run(notes=("steps counted from this length's first record",)))


def test_high_memory_alone_is_not_out_of_memory() -> None:
    assert not ran_out_of_memory(_run(memory={"memory_gb": 80.0}))


@pytest.mark.parametrize(("text", "says"), [("OOM", True), ("Zoom", False), ("OOMKilled", True)])
def test_says_out_of_memory_is_word_bounded(text, says) -> None:
    assert says_out_of_memory(text) is says


# ---- the figure -----------------------------------------------------------------------------


def _role(fig: dict, role: str) -> list[dict]:
    return [t for t in fig["data"] if t["meta"]["role"] == role]


def test_simulated_default_has_one_line_per_model_through_every_length() -> None:
    runs = simulate()
    fig = memory_figure_dict(runs)
    lines = _role(fig, "memory")
    assert [t["meta"]["model"] for t in lines] == ["resnetbk", "mamba"]
    lengths = [8192, 32768, 131072, 524288, 1048576]
    for line in lines:
        assert line["x"].tolist() == lengths
        expected = [peak_memory_gb(runs.get(line["meta"]["model"], n)) for n in lengths]
        assert line["y"].tolist() == pytest.approx(expected)
        assert np.all(np.diff(line["y"]) > 0)  # memory grows with the length
    layout = fig["layout"]
    assert layout["xaxis"]["type"] == "log"
    assert layout["xaxis"]["tickvals"] == lengths
    assert layout["xaxis"]["ticktext"] == ["8k", "32k", "128k", "512k", "1M"]
    assert layout["xaxis"]["title"]["text"] == LENGTH_AXIS_TITLE
    assert layout["yaxis"]["title"]["text"] == MEMORY_AXIS_TITLE
    assert (layout["width"], layout["height"]) == (WIDTH_PX, HEIGHT_PX)
    # Mamba diverges from 32k on (declared by the simulator): marked at its peaks
    (marks,) = _role(fig, "diverged")
    assert marks["meta"]["model"] == "mamba"
    assert marks["x"].tolist() == lengths[1:]
    assert marks["marker"]["color"] == DIVERGENCE_COLOR
    assert any(t["name"].startswith("Diverged") for t in _role(fig, "key"))


def test_the_figure_validates_and_every_trace_is_an_opaque_scatter() -> None:
    runs = [
        _run("resnetbk", 8192, memory={"memory_gb": 2.0}),
        _run("resnetbk", 32768, memory={"memory_gb": 5.0}, diverged=True),
        _run("mamba", 8192, memory={"memory_gb": 3.0}),
        _run("mamba", 32768, memory={"memory_gb": 9.0}, metadata={"status": "OOM"}),
    ]
    fig = build_memory_figure(runs)  # go.Figure validates every property
    assert isinstance(fig, go.Figure)
    for trace in fig.data:
        assert trace.type == "scatter"
        assert set(trace.meta) == {"role", "model"}
        assert trace.opacity in (None, 1)
        marker_opacity = trace.marker.opacity
        assert marker_opacity in (None, 1)
    text = json.dumps(fig.to_plotly_json(), default=str)
    assert "rgba" not in text


def test_several_seeds_at_a_length_plot_their_largest_peak_and_say_how_many() -> None:
    runs = [_run("mamba", 8192, seed=k, memory={"memory_gb": gb}) for k, gb in enumerate((2, 4, 3))]
    (line,) = _role(memory_figure_dict(runs), "memory")
    assert line["y"].tolist() == [4.0]
    assert "largest of 3 runs" in line["hovertext"][0]


def test_out_of_memory_runs_are_marked_at_the_top_not_on_the_line() -> None:
    runs = [
        _run("mamba", 8192, memory={"memory_gb": 3.0}),
        _run("mamba", 32768, memory={"memory_gb": 70.0}, metadata={"oom": True}),
        _run("mamba", 131072, metadata={"status": "CUDA out of memory"}),
        _run("resnetbk", 131072, memory={"memory_gb": 6.0}),
    ]
    fig = memory_figure_dict(runs)
    (line,) = [t for t in _role(fig, "memory") if t["meta"]["model"] == "mamba"]
    assert line["x"].tolist() == [8192]  # the OOM runs' last memory is no peak of the line
    (oom,) = _role(fig, "oom")
    assert oom["meta"]["model"] == "mamba"
    assert oom["x"].tolist() == [32768, 131072]
    assert oom["text"] == ["OOM", "OOM"]
    assert oom["yaxis"] == "y2" and all(y > 0.9 for y in oom["y"])
    assert "70.00 GB" in oom["hovertext"][0]
    assert any(t["name"].startswith("Ran out of memory") for t in _role(fig, "key"))
    # the data stays below the OOM row
    assert fig["layout"]["yaxis"]["range"][1] * 0.9 > 6.0


def test_detected_divergence_is_marked_too() -> None:
    losses = np.concatenate([4.0 - np.arange(300) / 200, 2.5 * 1.05 ** np.arange(200)])
    steps = np.arange(losses.size)
    exploding = Run(
        "mamba", 8192, steps, losses, extra={"memory_gb": np.full(steps.size, 4.0)}
    )  # declares nothing: the detector finds it
    (marks,) = _role(memory_figure_dict([exploding]), "diverged")
    assert marks["y"].tolist() == [4.0]


def test_runs_without_memory_are_left_out_and_colours_follow_all_runs() -> None:
    runs = [
        _run("resnetbk", 8192),  # no memory, no OOM: not drawn
        _run("mamba", 8192, memory={"memory_gb": 3.0}),
    ]
    fig = memory_figure_dict(runs)
    assert [t["meta"]["model"] for t in _role(fig, "memory")] == ["mamba"]
    loss_colours = {"resnetbk": "#2E86AB", "mamba": "#A23B72"}
    assert _role(fig, "memory")[0]["line"]["color"] == loss_colours["mamba"]
    # a selection keeps the colours of the whole set: llama took the first spare colour
    llama = _run("llama", 8192, memory={"memory_gb": 1.0})
    gpt2 = _run("gpt2", 8192, memory={"memory_gb": 1.5})
    picked = memory_figure_dict([llama, gpt2, *runs], models=["mamba", "gpt2"], lengths=[8192])
    assert [t["meta"]["model"] for t in _role(picked, "memory")] == ["mamba", "gpt2"]
    assert _role(picked, "memory")[1]["line"]["color"] == OTHER_COLORS[1]


def test_no_memory_logged_still_builds_a_figure_that_says_so() -> None:
    fig = build_memory_figure([_run("mamba", 8192), _run("resnetbk", 32768)])
    assert [a.text for a in fig.layout.annotations] == [NO_MEMORY_TEXT]
    assert len(fig.data) == 0
    empty = build_memory_figure([])
    assert [a.text for a in empty.layout.annotations] == [NO_MEMORY_TEXT]


def test_memory_without_a_length_is_noted_not_drawn() -> None:
    alone = memory_figure_dict([_run("mamba", None, memory={"memory_gb": 2.0})])
    assert [a["text"] for a in alone["layout"]["annotations"]] == [NO_LENGTH_TEXT]
    mixed = memory_figure_dict(
        [_run("mamba", None, memory={"memory_gb": 2.0}), _run("mamba", 8192, memory={"mem_gb": 1})]
    )
    (note,) = mixed["layout"]["annotations"]
    assert "1 run with memory but no sequence length" in note["text"]


def test_title_can_be_set_and_defaults_to_the_models_and_span() -> None:
    runs = simulate([8192, 32768], 50, 1)
    assert memory_figure_dict(runs)["layout"]["title"]["text"] == (
        "Peak Memory by Sequence Length<br>ResNet-BK vs Mamba, 8k to 32k tokens"
    )
    assert memory_figure_dict(runs, title="Memory")["layout"]["title"]["text"] == "Memory"
