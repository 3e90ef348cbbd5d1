"""The view in the query string: defaults stay out, everything else round-trips."""

from __future__ import annotations

from app import ids, state
from app.callbacks.url import link_for, view_from_search


def _default_view() -> dict:
    return {name: state.DEFAULTS[name] for name in state.CONTROLS}


def test_default_view_has_an_empty_query() -> None:
    assert state.encode(_default_view(), ["resnetbk", "mamba"], [8192, 32768]) == ""


def test_all_models_and_lengths_ticked_is_the_default() -> None:
    view = _default_view() | {"models": ["mamba", "resnetbk"], "lengths": [32768, 8192]}
    assert state.encode(view, ["resnetbk", "mamba"], [8192, 32768]) == ""


def test_changed_values_round_trip() -> None:
    view = _default_view() | {
        "source": state.folder_value("sweep-3"),
        "lengths": [8192, 131072],
        "models": ["mamba"],
        "smoothing": 0.6,
        "scale": "log",
        "show": [ids.SHOW_DIVERGENCE],
        "seed": 7,
    }
    search = state.encode(view, ["resnetbk", "mamba"], [8192, 32768, 131072])
    assert search.startswith("?")
    assert "lengths=8192,131072" in search
    restored = view_from_search(search)
    assert restored == view


def test_unticking_everything_is_kept_apart_from_all() -> None:
    view = _default_view() | {"lengths": []}
    search = state.encode(view, ["resnetbk"], [8192])
    assert "lengths=" in search
    assert state.decode(search)["lengths"] == []
    assert "lengths" not in state.decode("")


def test_malformed_parameters_are_ignored() -> None:
    restored = state.decode("?seed=abc&smoothing=3&scale=cubic&lengths=8k&x_axis=tokens&nope=1")
    assert restored == {"x_axis": "tokens"}


def test_source_values_map_to_store_choices() -> None:
    assert state.source_from_value(state.folder_value("a b"), 1, 2, [3]) == {
        "kind": "folder",
        "folder": "a b",
    }
    assert state.source_from_value("simulated", 1, 2, [3]) == {
        "kind": "simulated",
        "seed": 1,
        "steps": 2,
        "lengths": [3],
    }


def test_copied_link_keeps_the_page_address_and_replaces_the_query() -> None:
    assert link_for("http://h:1/?old=1#x", "?seed=2") == "http://h:1/?seed=2"
