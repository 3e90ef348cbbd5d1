"""The gradient norm: its panel in the figure, its spikes, the divergence reason, the CLI."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from sweep_data import SWEEP_DIVERGED, SWEEP_GRAD_SPIKE, SWEEP_ONSET, write_sweep

from stabgraph_core import Run
from stabgraph_core.cli import main
from stabgraph_core.detect import DEFAULT_CONFIG, DetectorConfig, detect_run
from stabgraph_core.errors import InvalidArgumentError
from stabgraph_core.figure import FigureOptions, figure_dict
from stabgraph_core.simulation import simulate
from stabgraph_core.store import RunStore


def _run(norm: np.ndarray | None, model: str = "m", seq_len: int = 8192, **kw) -> Run:
    steps = np.arange(norm.size if norm is not None else 400)
    rng = np.random.default_rng(seq_len)
    loss = 3.0 * np.exp(-steps / 100) + 2.0 + rng.normal(0, 0.01, steps.size)
    extra = {} if norm is None else {"grad_norm": norm}
    return Run(model, seq_len, steps, loss, extra=extra, **kw)


def _quiet(n: int = 400, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return 1.0 + 0.5 * np.exp(-np.arange(n) / 80) + rng.normal(0, 0.02, n)


def _by_role(fig: dict, role: str) -> list[dict]:
    return [t for t in fig["data"] if t["meta"]["role"] == role]


@pytest.fixture(scope="module")
def sweep_runs(tmp_path_factory):
    root = write_sweep(tmp_path_factory.mktemp("grad"))
    result, _ = RunStore().load(root)
    return result.runs


def _diverged(runs):
    model, n, seed = SWEEP_DIVERGED
    return next(r for r in runs if (r.model, r.seq_len, r.seed) == (model, n, seed))


# --- the figure --------------------------------------------------------------------------------


def test_auto_draws_the_panel_only_when_a_shown_run_logs_a_grad_norm() -> None:
    without = figure_dict([_run(None)])
    assert "yaxis3" not in without["layout"] and not _by_role(without, "grad_norm")
    with_norm = figure_dict([_run(_quiet()), _run(None, seq_len=32768)])
    axis = with_norm["layout"]["yaxis3"]
    assert axis["title"]["text"] == "Gradient norm" and axis["type"] == "log"
    assert len(_by_role(with_norm, "grad_norm")) == 1  # only the run that logs one
    # the panel sits under the loss and shares its one x axis
    assert axis["domain"][1] < with_norm["layout"]["yaxis"]["domain"][0]
    assert with_norm["layout"]["xaxis"]["anchor"] == "y3"
    assert all(t["yaxis"] == "y3" for t in _by_role(with_norm, "grad_norm"))


def test_off_never_and_on_always_with_a_note() -> None:
    off = figure_dict([_run(_quiet())], FigureOptions(grad_norm="off"))
    assert "yaxis3" not in off["layout"] and not _by_role(off, "grad_norm")
    on = figure_dict([_run(None)], FigureOptions(grad_norm="on"))
    assert on["layout"]["yaxis3"]["title"]["text"] == "Gradient norm"
    notes = [a["text"] for a in on["layout"].get("annotations", [])]
    assert "no gradient norm logged" in notes
    assert any(t.get("yaxis") == "y3" for t in on["data"])  # Plotly draws no empty subplot
    with pytest.raises(InvalidArgumentError, match="grad norm"):
        FigureOptions(grad_norm="sometimes")  # type: ignore[arg-type]


def test_line_has_the_loss_curves_colour_and_dash() -> None:
    runs = simulate((8192, 32768), 300)
    fig = figure_dict(runs)
    loss = {t["meta"]["run_id"]: t["line"] for t in _by_role(fig, "loss")}
    lines = _by_role(fig, "grad_norm")
    assert len(lines) == 4
    for t in lines:
        mine = loss[t["meta"]["run_id"]]
        assert (t["line"]["color"], t["line"]["dash"]) == (mine["color"], mine["dash"])
    assert len({t["line"]["dash"] for t in lines}) == 2


def test_missing_and_non_positive_values_are_no_points() -> None:
    norm = _quiet()
    norm[10:20] = np.nan
    norm[30] = 0.0
    norm[31] = -1.0
    norm[40] = np.inf
    (line,) = _by_role(figure_dict([_run(norm)]), "grad_norm")
    assert np.isfinite(line["y"]).all() and (line["y"] > 0).all()
    assert not set(line["x"].tolist()) & {*range(10, 20), 30, 31, 40}
    assert line["x"].size == norm.size - 13


def test_line_is_downsampled_like_the_loss_and_keeps_a_spike() -> None:
    norm = _quiet(100_000)
    norm[54_321] *= 40
    run = Run(
        "m", 8192, np.arange(norm.size), np.linspace(3, 2, norm.size), extra={"grad_norm": norm}
    )
    fig = figure_dict([run], FigureOptions(max_points=2000))
    (line,) = _by_role(fig, "grad_norm")
    assert line["x"].size <= 2100 and 54_321 in line["x"]
    zoomed = figure_dict([run], FigureOptions(max_points=2000, x_range=(50_000, 50_100)))
    (line,) = _by_role(zoomed, "grad_norm")
    assert line["x"].min() >= 49_999 and line["x"].max() <= 50_101


def test_grad_norm_spikes_are_circled_at_their_peak() -> None:
    norm = _quiet()
    norm[200:203] *= 10
    fig = figure_dict([_run(norm)])
    (spikes,) = _by_role(fig, "grad_spikes")
    assert spikes["marker"]["symbol"] == "circle-open" and spikes["yaxis"] == "y3"
    assert spikes["x"].tolist() == [int(np.argmax(norm))]
    assert "Gradient-norm spike" in {t["name"] for t in fig["data"] if t["meta"]["role"] == "key"}
    hidden = figure_dict([_run(norm)], FigureOptions(show_spikes=False))
    assert not _by_role(hidden, "grad_spikes")


def test_the_loss_panel_keeps_the_stable_band_and_the_rug() -> None:
    fig = figure_dict(simulate((8192, 32768), 1000))
    layout = fig["layout"]
    assert layout["yaxis2"]["overlaying"] == "y"  # rug and off-chart markers: loss panel
    assert all(s["yref"] == "y domain" for s in layout["shapes"])
    assert layout["width"] == 1152 and layout["height"] == 672  # 12 x 7 in


# --- detection ---------------------------------------------------------------------------------


def test_sweep_divergence_reason_names_the_grad_norm_spike_before_it(sweep_runs) -> None:
    found = detect_run(_diverged(sweep_runs))
    assert found.diverged and SWEEP_ONSET <= found.divergence_step <= SWEEP_ONSET + 10
    assert [s.start for s in found.grad_norm_spikes] == [SWEEP_GRAD_SPIKE]
    lead = found.divergence_step - SWEEP_GRAD_SPIKE
    match = re.search(r"the gradient norm spiked at step (\d+) \(([\d.]+)x its running median\), "
                      r"(\d+) steps before", found.reason)  # fmt: skip
    assert match and int(match[1]) == SWEEP_GRAD_SPIKE and int(match[3]) == lead
    assert 10 < float(match[2]) < 14  # x12 over a noisy median


def test_stable_runs_get_no_spikes_and_no_clause(sweep_runs) -> None:
    for run in sweep_runs:
        if run is _diverged(sweep_runs):
            continue
        found = detect_run(run)
        assert not found.diverged and found.grad_norm_spikes == ()
        assert "gradient norm" not in found.reason


def test_a_spike_long_before_the_onset_is_not_named() -> None:
    norm = _quiet(600)
    norm[100:102] *= 10
    steps = np.arange(600)
    loss = 3.0 * np.exp(-steps / 100) + 2.0
    loss[400:] *= np.exp(0.02 * (steps[400:] - 400))
    found = detect_run(Run("m", 8192, steps, loss, extra={"grad_norm": norm}))
    assert found.diverged and [s.start for s in found.grad_norm_spikes] == [100]
    assert "gradient norm" not in found.reason
    wide = detect_run(
        Run("m", 8192, steps, loss, extra={"grad_norm": norm}), DetectorConfig(grad_lead=400)
    )
    assert "the gradient norm spiked at step 100" in wide.reason


def test_simulated_diverging_runs_name_their_synthetic_spike() -> None:
    for run in simulate((8192, 32768, 131072), 1000):
        found = detect_run(run)
        assert ("gradient norm spiked" in found.reason) == (found.diverged and run.model == "mamba")


def test_spike_finding_is_vectorised_on_a_million_points() -> None:
    import time

    from stabgraph_core.detect._gradnorm import find_spikes

    n = 1_000_000
    norm = _quiet(n)
    norm[::100_000] *= 20
    start = time.process_time()
    spikes = find_spikes(np.arange(n), norm, DEFAULT_CONFIG)
    assert time.process_time() - start < 1.0
    assert [s.start for s in spikes] == list(range(100_000, n, 100_000))


# --- real logs ---------------------------------------------------------------------------------


def test_llmc_log_panel_holds_its_norm_values(real_data) -> None:
    path = real_data / "modded-nanogpt" / "2024-10-13_llmc_main.log"
    if not path.is_file():
        pytest.skip("llm.c log not found")
    result, _ = RunStore().load(path)
    (run,) = result.runs
    fig = figure_dict(result.runs)
    (line,) = _by_role(fig, "grad_norm")
    by_step = dict(zip(line["x"].tolist(), line["y"].tolist(), strict=True))
    # s:0 ... norm:15.37, s:1 ... norm:15.24, s:4 ... norm:10.43 (the first lines of the log)
    assert by_step[0] == 15.37 and by_step[1] == 15.24 and by_step[4] == 10.43
    text = path.read_text().splitlines()
    logged = {
        int(m[1]): float(m[2]) for line_ in text if (m := re.match(r"s:(\d+) .*norm:(\S+)", line_))
    }
    for step in (100, 5000, 19559):
        assert np.isclose(run.extra["grad_norm"][run.steps == step][0], logged[step])


def test_megatron_log_grad_norm_is_drawn(real_data) -> None:
    path = real_data / "bigscience" / "tr11-176B_spike_it31219.txt"
    if not path.is_file():
        pytest.skip("BigScience log not found")
    result, _ = RunStore().load(path)
    (line,) = _by_role(figure_dict(result.runs), "grad_norm")
    assert line["x"].size >= 5 and (line["y"] > 0).all()


# --- the CLI -----------------------------------------------------------------------------------


def test_cli_html_and_json_on_the_sweep(sweep_dir, tmp_path, capsys) -> None:
    out = tmp_path / "fig"
    code = main(["--results_dir", str(sweep_dir), "--format", "html", "--save_summary",
                 "--output", str(out)])  # fmt: skip
    assert code == 0
    html = (tmp_path / "fig.html").read_text()
    assert '"Gradient norm"' in html and '"grad_norm"' in html and '"grad_spikes"' in html
    assert html.count('"role":"grad_norm"') + html.count('"role": "grad_norm"') == 12
    summary = json.loads((tmp_path / "fig.json").read_text())
    model, n, seed = SWEEP_DIVERGED
    entry = next(
        e for k, e in summary[model].items() if k.startswith(str(n)) and f"seed {seed}" in k
    )
    assert f"the gradient norm spiked at step {SWEEP_GRAD_SPIKE}" in entry["detection"]["reason"]
    assert entry["detection"]["grad_norm_spikes"][0]["start"] == SWEEP_GRAD_SPIKE
    off = tmp_path / "off"
    assert main(["--results_dir", str(sweep_dir), "--format", "html", "--grad_norm", "off",
                 "--output", str(off)]) == 0  # fmt: skip
    assert '"grad_norm"' not in (tmp_path / "off.html").read_text()
    capsys.readouterr()


def test_cli_rejects_a_bad_grad_norm_choice(capsys) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--simulate", "--grad_norm", "sometimes"])
    assert exit_.value.code == 2
    assert "--grad_norm" in capsys.readouterr().err
