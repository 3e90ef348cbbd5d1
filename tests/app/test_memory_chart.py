"""The memory chart under the loss chart: the shown runs' peak memory by sequence length,
following the source and the ticks, hidden when nothing shown logs memory, and a forged
request answered with one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from dash._callback_context import context_value
from dash._utils import AttributeDict
from sweep_data import SWEEP_DIVERGED, SWEEP_LENGTHS, SWEEP_MEMORY_GB

from app import data, ids, layout, state
from app.callbacks import figure, memory

SIM = {"kind": "simulated", "seed": 42, "steps": 300, "lengths": [8192, 32768, 131072]}


@pytest.fixture(autouse=True)
def _fresh_memory_cache():
    memory.clear_cache()
    yield
    memory.clear_cache()


@pytest.fixture
def said() -> dict:
    """A callback context whose ``set_props`` calls land in the returned dict."""
    props: dict = {}
    context_value.set(AttributeDict(updated_props=props, triggered_inputs=[]))
    return props


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("STABGRAPH_RESULTS_ROOT", str(tmp_path / "results"))
    monkeypatch.setenv("STABGRAPH_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "results"


def _lines(fig: dict) -> dict[str, dict]:
    return {t["meta"]["model"]: t for t in fig["data"] if t["meta"]["role"] == "memory"}


def test_simulated_runs_give_one_line_per_model_at_the_lengths() -> None:
    fig, hidden = memory.draw_memory(SIM, None, None)
    assert hidden is False
    lines = _lines(fig)
    assert list(lines) == ["resnetbk", "mamba"]
    for line in lines.values():
        assert line["x"] == [8192, 32768, 131072]  # plain lists: a small figure
    assert fig["layout"]["xaxis"]["ticktext"] == ["8k", "32k", "128k"]
    assert "title" not in fig["layout"] and "width" not in fig["layout"]  # the page sizes it
    json.dumps(fig)  # sent as plain JSON


def test_it_follows_the_ticked_models_and_lengths_and_keeps_the_loss_colours() -> None:
    loss, _map, _drawn = figure.draw_chart(SIM, 0, "linear", "steps", None, None, None)
    loss_colour = next(
        t["line"]["color"]
        for t in loss["data"]
        if t["meta"]["role"] == "key" and t["meta"]["model"] == "mamba"
    )
    fig, hidden = memory.draw_memory(SIM, ["mamba"], [8192, 32768])
    assert hidden is False
    (line,) = _lines(fig).values()
    assert line["meta"]["model"] == "mamba" and line["x"] == [8192, 32768]
    assert line["line"]["color"] == loss_colour
    _fig, hidden = memory.draw_memory(SIM, [], None)
    assert hidden is True  # nothing ticked: nothing shown logs memory


def test_a_folder_source_shows_its_peaks_and_the_diverged_seed(root: Path) -> None:
    from sweep_data import write_sweep

    write_sweep(root)
    source = state.source_from_value(f"{state.FOLDER_PREFIX}sweep", 0, 1, [])
    fig, hidden = memory.draw_memory(source, None, None)
    assert hidden is False
    for model, line in _lines(fig).items():
        assert line["x"] == list(SWEEP_LENGTHS)
        assert line["y"] == pytest.approx([SWEEP_MEMORY_GB[(model, n)] for n in SWEEP_LENGTHS])
    (marks,) = [t for t in fig["data"] if t["meta"]["role"] == "diverged"]
    assert (marks["meta"]["model"], marks["x"]) == (SWEEP_DIVERGED[0], [SWEEP_DIVERGED[1]])
    # the detection settings decide what is marked: a detector that needs a 100x rise
    # finds no divergence there
    fig, _hidden = memory.draw_memory(source, None, None, {"ratio": 100.0})
    assert not [t for t in fig["data"] if t["meta"]["role"] == "diverged"]


def test_a_folder_without_memory_hides_the_section(root: Path) -> None:
    folder = root / "runs"
    folder.mkdir(parents=True)
    (folder / "mamba_seq8192.json").write_text(
        json.dumps({"steps": [0, 1, 2], "loss": [3.0, 2.0, 1.0]})
    )
    source = state.source_from_value(f"{state.FOLDER_PREFIX}runs", 0, 1, [])
    _fig, hidden = memory.draw_memory(source, None, None)
    assert hidden is True


def test_no_source_or_an_unlisted_folder_hides_it(root: Path) -> None:
    assert memory.draw_memory(None, None, None)[1] is True
    root.mkdir(parents=True)
    _fig, hidden = memory.draw_memory({"kind": "folder", "folder": "nope"}, None, None)
    assert hidden is True


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"lengths": 5}, "Sequence lengths must be a list"),
        ({"models": {"a": 1}}, "Models must be a list"),
        ({"detector": [1]}, "detection settings must be an object"),
        ({"detector": {"ratio": "a" * 10_000}}, "must be a number"),
        ({"source": ["simulated"]}, ""),
        ({"source": {"kind": "folder", "folder": "y" * 1000}}, ""),
        ({"source": {"kind": "simulated", "lengths": "8192"}}, ""),
    ],
)
def test_a_forged_request_is_one_line_on_the_page(said: dict, args: dict, message: str) -> None:
    call = {"source": SIM, "models": None, "lengths": None, "detector": None} | args
    fig, hidden = memory.draw_memory(**call)
    assert hidden is True and fig is memory.no_update
    text = said[ids.PAGE_MESSAGE]["children"]
    assert message in text and "\n" not in text and len(text) < 200


def test_the_section_sits_right_under_the_loss_chart() -> None:
    page = layout.serve_layout()
    main = _find(page, lambda c: getattr(c, "className", "") == "main")
    children = list(main.children)
    at = next(
        i for i, c in enumerate(children) if _find(c, lambda x: _id(x) == ids.GRAPH) is not None
    )
    section = children[at + 1]
    assert _id(section) == ids.MEMORY_CARD and section.hidden is True
    heading = section.children[0]
    assert heading.children == "Peak memory by sequence length"
    assert _id(section.children[1].children) == ids.MEMORY_GRAPH


def _id(component: object) -> object:
    return getattr(component, "id", None)


def _find(component: object, match) -> object | None:
    if match(component):
        return component
    children = getattr(component, "children", None)
    if children is None or isinstance(children, str):
        return None
    for child in children if isinstance(children, list | tuple) else [children]:
        found = _find(child, match)
        if found is not None:
            return found
    return None


def test_it_is_cached_per_source_and_selection() -> None:
    loaded = data.load_source(SIM)
    first = memory.memory_chart(loaded, ["mamba", "resnetbk"], [8192])
    assert memory.memory_chart(loaded, ["resnetbk", "mamba"], [8192]) is first
    assert memory.memory_chart(loaded, ["mamba"], [8192]) is not first
