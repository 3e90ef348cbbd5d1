"""The Gradient norm control: in the URL, checked when forged, followed by chart and download."""

from __future__ import annotations

import pytest

from app import data, downloads, inputs, state
from app.callbacks import figure
from app.callbacks.url import view_from_search
from stabgraph_core.errors import InvalidArgumentError

SIM = {"kind": "simulated", "seed": 42, "steps": 300, "lengths": [8192, 32768]}


def _roles(fig: dict) -> set[str]:
    return {t["meta"]["role"] for t in fig["data"]}


def test_url_round_trip_and_default_left_out() -> None:
    view = {**state.DEFAULTS, "grad_norm": "off"}
    search = state.encode(view, [], [])
    assert "grad_norm=off" in search
    assert view_from_search(search)["grad_norm"] == "off"
    assert "grad_norm" not in state.encode(dict(state.DEFAULTS), [], [])
    assert view_from_search("?grad_norm=bogus")["grad_norm"] == "auto"  # ignored, not an error


def test_forged_values_get_one_line() -> None:
    for forged in ("bogus", ["on"], {"x": 1}, 3):
        with pytest.raises(InvalidArgumentError) as err:
            inputs.grad_norm(forged)
        assert "Gradient norm" in str(err.value) and "\n" not in str(err.value)
    assert inputs.grad_norm(None) == "auto"


def test_chart_follows_the_control_and_a_forged_value_is_a_message() -> None:
    data.clear_cache()
    drawn, _, _ = figure.draw_chart(SIM, 0, "linear", "steps", None, None, None, grad_norm="auto")
    assert "grad_norm" in _roles(drawn) and "yaxis3" in drawn["layout"]
    off, trace_map, _ = figure.draw_chart(SIM, 0, "linear", "steps", None, None, None, None,
                                          None, None, "off")  # fmt: skip
    assert "grad_norm" not in _roles(off) and "yaxis3" not in off["layout"]
    assert all(e["role"] != "grad_norm" for e in trace_map)
    forged, trace_map, _ = figure.draw_chart(
        SIM, 0, "linear", "steps", None, None, None, grad_norm=["on"]
    )
    (note,) = forged["layout"]["annotations"]
    assert "Gradient norm" in note["text"] and "\n" not in note["text"] and trace_map == []


def test_download_follows_the_view() -> None:
    loaded = data.load_source(SIM)
    on = downloads.render(loaded, downloads.ViewChoice(), "html")
    off = downloads.render(loaded, downloads.ViewChoice(grad_norm="off"), "html")
    assert b"Gradient norm" in on and b"Gradient norm" not in off
