"""Detection settings on the page: checked, applied to every view, kept in the URL."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import pytest
from dash import no_update
from dash._callback_context import context_value
from dash._utils import AttributeDict

from app import data, detection, ids, state
from app.callbacks import detection as settings_cb
from app.callbacks import export, figure, table, url
from stabgraph_core.detect import DEFAULT_CONFIG, detect
from stabgraph_core.errors import InvalidArgumentError

STEPS = np.arange(600)
# Flat at 2.0 with a small ripple, then a plateau 1.3x higher from step 300 to the end:
# below the default rise ratio (1.5x), above a rise ratio of 1.2x.
PLATEAU = 2.0 + 0.01 * np.sin(STEPS * 1.7) + np.where(STEPS >= 300, 0.6, 0.0)
SOURCE = {"kind": "folder", "folder": "plateau"}


@pytest.fixture
def plateau_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """results/
    └── plateau/   mamba_seq8192.json (the PLATEAU curve, 600 steps)
    """
    folder = tmp_path / "results" / "plateau"
    folder.mkdir(parents=True)
    payload = {"seq_len": 8192, "steps": STEPS.tolist(), "loss": PLATEAU.tolist()}
    (folder / "mamba_seq8192.json").write_text(json.dumps(payload))
    monkeypatch.setenv("STABGRAPH_RESULTS_ROOT", str(tmp_path / "results"))
    monkeypatch.setenv("STABGRAPH_CACHE_DIR", str(tmp_path / "cache"))
    return folder


def _inputs(**changes: object) -> dict[str, object]:
    """Every setting's input value: the defaults, with ``changes`` by URL key."""
    return detection.values_for(None) | changes


def _detected(applied: dict | None) -> str:
    (row,) = table.fill_table(SOURCE, None, None, applied)
    return row["detected"]


def test_a_lower_rise_ratio_turns_the_plateau_into_a_divergence(plateau_folder: Path) -> None:
    out = settings_cb.apply_settings(_inputs(detect_ratio=1.2), {})
    assert out["applied"] == {"ratio": 1.2}
    assert out["message"] == "" and out["changed"] == " · 1 changed"
    expected = detect(STEPS, PLATEAU, DEFAULT_CONFIG.replace(ratio=1.2)).divergence_step
    assert expected is not None and abs(expected - 300) <= 5
    assert _detected({}) == "no"
    assert _detected(out["applied"]) == f"step {expected:,}"


def test_the_chart_and_the_summary_download_use_the_applied_settings(
    plateau_folder: Path,
) -> None:
    def onsets(applied: dict) -> list[dict]:
        fig, _trace_map, _drawn_source = figure.draw_chart(
            SOURCE, 0, "linear", "steps", None, None, None, None, applied
        )
        return [t for t in fig["data"] if t["meta"]["role"] == "onset"]

    assert onsets({}) == []
    assert len(onsets({"ratio": 1.2})) == 1

    def summary(applied: dict) -> dict:
        (download, _status, _css) = export.export_view(
            lambda _: None,
            1,
            "json",
            300,
            SOURCE,
            None,
            None,
            None,
            0,
            "linear",
            "steps",
            None,
            applied,
        )
        return json.loads(base64.b64decode(download["content"]))["mamba"]["8192"]["detection"]

    assert summary({})["diverged"] is False
    assert summary({"ratio": 1.2})["diverged"] is True


def test_an_invalid_value_says_why_and_keeps_the_last_settings() -> None:
    out = settings_cb.apply_settings(_inputs(detect_ratio=0.9), {"ratio": 1.2})
    assert out["applied"] is no_update and out["changed"] is no_update
    assert out["message"] == (
        "Rise above baseline must be > 1, got 0.9; the last valid settings stay in use."
    )
    crossed = settings_cb.apply_settings(_inputs(detect_ratio=1.2, detect_return_ratio=1.3), {})
    assert crossed["applied"] is no_update
    assert crossed["message"].startswith(
        "Back within baseline must be between 1 and the rise (1.2)"
    )
    whole = settings_cb.apply_settings(_inputs(detect_return_window=10.5), {})
    assert "must be an integer" in whole["message"]


def test_blank_means_default_and_unchanged_settings_leave_the_store_alone() -> None:
    out = settings_cb.apply_settings(_inputs(detect_ratio=None, detect_sigmas=5), {})
    assert out["applied"] == {"sigmas": 5.0}
    again = settings_cb.apply_settings(_inputs(detect_sigmas=5), {"sigmas": 5.0})
    assert again["applied"] is no_update and again["message"] == ""


def test_reset_puts_every_input_back_to_its_default() -> None:
    values = settings_cb.reset_settings(1)
    assert values == {s.key: getattr(DEFAULT_CONFIG, s.field) for s in detection.SETTINGS}
    assert settings_cb.apply_settings(values, {"ratio": 1.2})["applied"] == {}


def test_settings_key_the_detection_cache_but_runs_load_once(plateau_folder: Path) -> None:
    default = data.load_source(SOURCE)
    changed = data.load_source(SOURCE, {"ratio": 1.2})
    assert changed is not default and changed.runs is default.runs
    assert changed.config.ratio == 1.2 and default.config == DEFAULT_CONFIG
    assert data.load_source(SOURCE, {"ratio": 1.2}) is changed
    assert data.load_source(SOURCE, {}) is default
    with pytest.raises(InvalidArgumentError, match="ratio must be > 1"):
        data.load_source(SOURCE, {"ratio": 0.5})


# ---- URL ----------------------------------------------------------------------------------


def _default_view() -> dict:
    return {name: state.DEFAULTS[name] for name in state.CONTROLS}


def test_changed_settings_round_trip_through_the_url_and_defaults_stay_out() -> None:
    view = _default_view() | {"detect_ratio": 1.2, "detect_return_window": 500}
    search = state.encode(view, [], [])
    assert search == "?detect_ratio=1.2&detect_return_window=500"
    assert url.view_from_search(search) == view
    assert state.encode(_default_view(), [], []) == ""


def test_malformed_settings_in_the_url_are_ignored() -> None:
    restored = state.decode("?detect_ratio=abc&detect_return_window=1.5&detect_sigmas=inf")
    assert restored == {}


def test_an_invalid_setting_keeps_the_applied_one_in_the_url() -> None:
    context_value.set(
        AttributeDict(triggered_inputs=[{"prop_id": f"{ids.DETECT_RATIO}.value", "value": 0.9}])
    )
    view = _default_view() | {"detect_ratio": 0.9, "smoothing": 0.6}
    out = url.sync_url("", view, "http://h/", [], [], {"ratio": 1.2})
    assert out["search"] == "?smoothing=0.6&detect_ratio=1.2"
    assert all(v is no_update for v in out["view"].values())
