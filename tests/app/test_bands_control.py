"""The Seed bands control and the seed lines' Mark box: in the URL, checked when forged,
followed by the chart, the zoom and the download."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from app import data, downloads, ids, inputs, state, view
from app.callbacks import figure, zoom
from app.callbacks.url import view_from_search
from stabgraph_core.errors import InvalidArgumentError


@pytest.fixture
def sweep_source(sweep_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict:
    monkeypatch.setenv("STABGRAPH_RESULTS_ROOT", str(sweep_dir.parent))
    monkeypatch.setenv("STABGRAPH_CACHE_DIR", str(tmp_path / "cache"))
    return state.source_from_value(f"{state.FOLDER_PREFIX}{sweep_dir.name}", 0, 1, [])


def _roles(fig: dict, visible_only: bool = False) -> Counter:
    return Counter(
        t["meta"]["role"] for t in fig["data"] if not visible_only or t.get("visible", True) is True
    )


def _draw(source: dict, bands: str | None = "std", show: list | None = None) -> tuple:
    show = state.DEFAULT_SHOW if show is None else show
    return figure.draw_chart(source, 0, "linear", "steps", None, None, show, bands=bands)


def test_url_round_trip_and_default_left_out() -> None:
    search = state.encode({**state.DEFAULTS, "bands": "minmax"}, [], [])
    assert "bands=minmax" in search
    assert view_from_search(search)["bands"] == "minmax"
    assert "bands" not in state.encode(dict(state.DEFAULTS), [], [])
    assert view_from_search("?bands=bogus")["bands"] == "std"  # ignored, not an error
    shown = view_from_search("?show=divergence,seeds")["show"]
    assert ids.SHOW_SEEDS in shown


def test_forged_values_get_one_line() -> None:
    for forged in ("bogus", ["std"], {"x": 1}, 3):
        with pytest.raises(InvalidArgumentError) as err:
            inputs.bands(forged)
        assert "Seed bands" in str(err.value) and "\n" not in str(err.value)
    assert inputs.bands(None) == "std"


def test_chart_draws_bands_and_seed_lines_follow_the_mark_box(sweep_source: dict) -> None:
    drawn, trace_map, _ = _draw(sweep_source)
    roles = _roles(drawn)
    assert (roles["band"], roles["seed_mean"], roles["seed"]) == (4, 4, 12)
    assert _roles(drawn, visible_only=True)["seed"] == 0  # built, hidden until asked for
    assert _roles(drawn, visible_only=True)["diverged"] == 1  # the diverged seed stays
    with_seeds, _, _ = _draw(sweep_source, show=[*state.DEFAULT_SHOW, ids.SHOW_SEEDS])
    assert _roles(with_seeds, visible_only=True)["seed"] == 12
    patch = view.visibility_patch(trace_map, None, None, [*state.DEFAULT_SHOW, ids.SHOW_SEEDS])
    assert patch is not None
    off, trace_map_off, _ = _draw(sweep_source, bands="off")
    assert _roles(off)["band"] == 0 and _roles(off)["loss"] == 12
    assert all(e["role"] != "band" for e in trace_map_off)


def test_forged_bands_value_is_a_message_not_an_error(sweep_source: dict) -> None:
    forged, trace_map, _ = _draw(sweep_source, bands={"std": 1})
    (note,) = forged["layout"]["annotations"]
    assert "Seed bands" in note["text"] and "\n" not in note["text"] and trace_map == []


def test_zoom_refills_band_and_mean_points(sweep_source: dict) -> None:
    drawn, trace_map, _ = _draw(sweep_source)
    relayout = {"xaxis.range[0]": 100, "xaxis.range[1]": 200}
    patch = zoom.refine_on_zoom(
        relayout, sweep_source, 0, "linear", "steps", trace_map, None, "auto", "std"
    )
    changed = patch.to_plotly_json()["operations"]
    touched = {op["location"][1] for op in changed}
    bands = [i for i, e in enumerate(trace_map) if e["role"] in ("band", "seed_mean")]
    assert set(bands) <= touched


def test_download_follows_the_view(sweep_source: dict) -> None:
    loaded = data.load_source(sweep_source)
    std = downloads.render(loaded, downloads.ViewChoice(), "html")
    minmax = downloads.render(loaded, downloads.ViewChoice(bands="minmax"), "html")
    off = downloads.render(loaded, downloads.ViewChoice(bands="off"), "html")
    assert b"Seed mean \\u00b1 1 std" in std or "Seed mean ± 1 std".encode() in std
    assert "Seed mean, min–max".encode() in minmax or b"min\\u2013max" in minmax
    assert b"seed band" not in off and b"seed band" in std
