"""A sweep folder (2 models x 2 lengths x 3 seeds, one seed diverging after a grad-norm
spike) through the command line: the summary's seeds section, the printed table, and the
HTML figure's bands, diverged seed, onset and grad-norm panel."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from sweep_data import SWEEP_DIVERGED, SWEEP_GRAD_SPIKE, SWEEP_MEMORY_GB, SWEEP_ONSET

from stabgraph_core.cli import main


def _traces(html: str) -> list[dict]:
    """The figure's traces as the HTML holds them (``Plotly.newPlot(id, data, layout)``)."""
    start = html.index("Plotly.newPlot(")
    body = html[start:]
    first = body.index("[")
    data, _ = json.JSONDecoder().raw_decode(body[first:])
    return data


@pytest.fixture
def sweep_out(sweep_dir, tmp_path, capsys):
    out = tmp_path / "out" / "sweep"
    args = ["--results_dir", str(sweep_dir), "--output", str(out), "--format", "html"]
    assert main([*args, "--save_summary"]) == 0
    printed = capsys.readouterr().out
    summary = json.loads(out.with_suffix(".json").read_text())
    html = out.with_suffix(".html").read_text()
    return printed, summary, html, out


def test_summary_seeds_section_and_memory(sweep_out):
    _, summary, _, _ = sweep_out
    model, length, seed = SWEEP_DIVERGED
    group = summary["seeds"][model][str(length)]
    assert group["n_seeds"] == 3 and group["n_diverged"] == 1 and group["seeds"] == [0, 1, 2]
    assert group["divergence_rate"] == pytest.approx(1 / 3)
    (step,) = group["divergence_steps"]
    assert SWEEP_ONSET <= step <= SWEEP_ONSET + 5
    assert summary[model][f"{length} seed {seed}"]["diverged"] is True
    assert summary["seeds"]["resnetbk"]["32768"]["n_diverged"] == 0
    comparison = summary["comparison"]
    assert list(comparison) == ["8192", "32768"]
    assert comparison["32768"]["mamba_final"] == pytest.approx(group["final_loss_mean"])
    assert comparison["32768"]["mamba_diverged"] is True
    for (m, n), gb in SWEEP_MEMORY_GB.items():
        for k in range(3):
            assert summary[m][f"{n} seed {k}"]["peak_memory_gb"] == pytest.approx(gb)


def test_printed_table_has_the_seed_groups(sweep_out):
    printed, _, _, _ = sweep_out
    assert "SEED GROUPS" in printed
    line = next(x for x in printed.splitlines() if x.startswith("Mamba") and " 32k  3 seeds" in x)
    assert "1/3 diverged (step 30" in line


def test_html_has_bands_means_and_the_diverged_seed_as_its_own_line(sweep_out):
    _, _, html, _ = sweep_out
    traces = _traces(html)
    roles = [t["meta"]["role"] for t in traces]
    assert roles.count("band") == 4 and roles.count("seed_mean") == 4
    assert roles.count("loss") == 0  # every run is in a group: drawn as bands
    model, length, seed = SWEEP_DIVERGED
    (after,) = [t for t in traces if t["meta"]["role"] == "diverged"]
    assert (after["meta"]["model"], after["meta"]["seq_len"], after["meta"]["seed"]) == (
        model,
        length,
        seed,
    )
    (onset,) = [t for t in traces if t["meta"]["role"] == "onset"]
    assert re.search(r"seed 2, step 30\d", json.dumps(onset))
    (spikes,) = [t for t in traces if t["meta"]["role"] == "grad_spikes"]
    assert spikes["meta"]["seed"] == seed and spikes["yaxis"] == "y3"
    assert any(t.get("name") == "Seed mean ± 1 std" for t in traces)


def test_bands_off_and_minmax_from_the_command_line(sweep_dir, tmp_path, capsys):
    out = tmp_path / "b"
    base = ["--results_dir", str(sweep_dir), "--output", str(out), "--format", "html"]
    assert main([*base, "--bands", "off"]) == 0
    roles = [t["meta"]["role"] for t in _traces(out.with_suffix(".html").read_text())]
    assert roles.count("band") == 0 and roles.count("loss") == 12
    assert main([*base, "--bands", "minmax", "--show_seeds"]) == 0
    traces = _traces(out.with_suffix(".html").read_text())
    assert sum(t["meta"]["role"] == "seed" for t in traces) == 12
    assert any(t.get("name") == "Seed mean, min–max" for t in traces)
    capsys.readouterr()
    with pytest.raises(SystemExit) as usage:
        main([*base, "--bands", "wide"])
    assert usage.value.code == 2
    assert "--bands" in capsys.readouterr().err


def test_band_values_match_the_logs_by_hand(sweep_out, sweep_dir):
    _, _, html, _ = sweep_out
    (band,) = [
        t
        for t in _traces(html)
        if t["meta"]["role"] == "seed_mean"
        and t["meta"]["model"] == "resnetbk"
        and t["meta"]["seq_len"] == 8192
    ]
    step = SWEEP_GRAD_SPIKE
    losses = []
    for k in range(3):
        lines = (sweep_dir / "resnetbk" / f"seq8192_seed{k}.jsonl").read_text().splitlines()
        losses.append(json.loads(lines[step])["loss"])
    y = band["y"]
    if isinstance(y, dict):  # plotly's typed-array encoding
        import base64

        y = np.frombuffer(base64.b64decode(y["bdata"]), dtype=y["dtype"])
    x = band["x"]
    if isinstance(x, dict):
        import base64

        x = np.frombuffer(base64.b64decode(x["bdata"]), dtype=x["dtype"])
    i = int(np.flatnonzero(np.asarray(x) == step)[0])
    assert y[i] == pytest.approx(np.mean(losses))
