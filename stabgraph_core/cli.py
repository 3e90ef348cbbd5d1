"""``stabgraph``: the old script's flags over the same functions the app calls."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from . import __version__
from .detect import DEFAULT_CONFIG, Detection, DetectorConfig, describe, detect_run
from .errors import StabgraphError
from .model import RunSet, length_label, model_display_name
from .simulation import DEFAULT_LENGTHS, DEFAULT_NUM_STEPS, DEFAULT_SEED, simulate
from .summary import DEFAULT_BASELINE, DEFAULT_CANDIDATE, summarize, write_summary

FORMATS = ("pdf", "svg", "png", "eps", "html", "all")
FIGURES = ("loss", "memory")
#: ``--output`` when not given, per ``--figure``: the memory figure never replaces the loss's.
DEFAULT_OUTPUTS = {"loss": "results/stability_graph", "memory": "results/memory_graph"}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (kept separate so tests and docs can inspect it)."""
    p = argparse.ArgumentParser(
        prog="stabgraph",
        description=(
            "Load (or simulate) long-context training runs, find where each diverges, "
            "print a summary and export a publication figure."
        ),
        epilog="The dashboard: stabgraph serve [ROOT] [--host H] [--port P] [--workers N] "
        "(stabgraph serve --help). Following logs as they grow: stabgraph watch ROOT "
        "[--interval S] [--exit-on-divergence] (stabgraph watch --help).",
    )
    p.add_argument("--version", action="version", version=f"stabgraph {__version__}")
    src = p.add_argument_group("input")
    src.add_argument(
        "--results_dir",
        default="results/long_context",
        help="folder of training logs to load (default: %(default)s)",
    )
    src.add_argument("--simulate", action="store_true", help="use simulated runs instead of logs")
    src.add_argument(
        "--tag",
        default=None,
        help="loss series to read where a file has several: TensorBoard tag, W&B metric, "
        "trainer-state key, CSV column or JSONL field (default: the first loss-like one)",
    )
    src.add_argument(
        "--preset",
        choices=("nanogpt", "llmc", "modded-nanogpt", "megatron"),
        default=None,
        help="console-log format (default: detected per file)",
    )
    src.add_argument(
        "--regex",
        default=None,
        help="console-log regex with named groups step and loss, e.g. "
        r"'step (?P<step>\d+) loss (?P<loss>\S+)'",
    )
    src.add_argument(
        "--sequence_lengths",
        type=int,
        nargs="+",
        metavar="N",
        default=None,
        help="sequence lengths to simulate or show (default: 8192 32768 131072 524288 1048576 "
        "when simulating, every length found when loading)",
    )
    src.add_argument(
        "--num_steps",
        type=int,
        default=DEFAULT_NUM_STEPS,
        help="training steps per simulated run (default: %(default)s)",
    )
    src.add_argument(
        "--seed", type=int, default=DEFAULT_SEED, help="simulation seed (default: %(default)s)"
    )
    out = p.add_argument_group("output")
    out.add_argument(
        "--output",
        default=None,
        help="output path without extension (default: results/stability_graph, "
        "results/memory_graph with --figure memory)",
    )
    out.add_argument(
        "--dpi", type=int, default=300, help="resolution of the PNG (default: %(default)s)"
    )
    out.add_argument(
        "--format",
        choices=FORMATS,
        default="pdf",
        help="figure format; {output}.png is always written too (default: %(default)s)",
    )
    out.add_argument(
        "--save_summary", action="store_true", help="also write summary statistics to {output}.json"
    )
    fig_ = p.add_argument_group("figure")
    fig_.add_argument(
        "--figure",
        choices=FIGURES,
        default="loss",
        help="which figure: loss curves, or peak memory against sequence length per model "
        "with diverged and out-of-memory runs marked (default: %(default)s)",
    )
    fig_.add_argument("--title", default=None, help="figure title (default: the two-line title)")
    fig_.add_argument("--log_y", action="store_true", help="logarithmic loss axis")
    fig_.add_argument(
        "--smoothing",
        type=float,
        default=0.0,
        help="TensorBoard smoothing weight 0-0.999; raw loss drawn faintly (default: %(default)s)",
    )
    fig_.add_argument(
        "--x_axis",
        choices=("steps", "tokens"),
        default="steps",
        help="x axis: training steps or tokens seen, where logged (default: %(default)s)",
    )
    fig_.add_argument(
        "--grad_norm",
        choices=("auto", "on", "off"),
        default="auto",
        help="gradient-norm panel under the loss: auto draws it when a run logs a gradient "
        "norm, on always, off never (default: %(default)s)",
    )
    fig_.add_argument(
        "--bands",
        choices=("std", "minmax", "off"),
        default="std",
        help="runs of one model and length with several seeds: their mean and a band of "
        "mean +/- 1 std (std) or lowest to highest seed (minmax), or off: every seed its "
        "own line; a diverged seed is always its own line from its onset "
        "(default: %(default)s)",
    )
    fig_.add_argument(
        "--show_seeds",
        action="store_true",
        help="with bands, also draw each seed's own thin line",
    )
    cmp_ = p.add_argument_group("comparison")
    cmp_.add_argument(
        "--baseline",
        default=DEFAULT_BASELINE,
        help="model compared against in the summary (default: %(default)s)",
    )
    cmp_.add_argument(
        "--candidate",
        default=DEFAULT_CANDIDATE,
        help="model compared in the summary (default: %(default)s)",
    )
    det = p.add_argument_group(
        "detection",
        "how divergence and spikes are found (windows count logged points; see docs/detection.md)",
    )
    det.add_argument(
        "--detect-only",
        action="store_true",
        help="print what the detector finds in each run and exit without writing anything",
    )
    for flag, name, kind, text in _DETECT_FLAGS:
        det.add_argument(
            flag,
            dest=f"detect_{name}",
            type=kind,
            default=None,
            metavar="X" if kind is float else "N",
            help=f"{text} (default: {getattr(DEFAULT_CONFIG, name):g})",
        )
    return p


_DETECT_FLAGS = (
    ("--detect-ratio", "ratio", float, "a departure is at least this multiple of the baseline"),
    ("--detect-sigmas", "sigmas", float, "... and this many robust noise widths above it"),
    ("--detect-return-ratio", "return_ratio", float, "back within this multiple ends it"),
    ("--detect-window", "smooth_window", int, "points averaged for the smoothed level"),
    (
        "--detect-return-window",
        "return_window",
        int,
        "an excursion not back within this many points is a divergence",
    ),
    (
        "--detect-sustained-points",
        "min_sustained_points",
        int,
        "an excursion open when the log ends is a divergence once it lasted this many points",
    ),
    (
        "--detect-recovering-fraction",
        "recovering_fraction",
        float,
        "... unless shorter and already this fraction of the way back from its peak",
    ),
    (
        "--detect-nonfinite-window",
        "nonfinite_window",
        int,
        "at most this many NaN/Inf points in a row can still be a spike",
    ),
)


def _detector_config(args: argparse.Namespace) -> DetectorConfig:
    """The detector parameters, defaults overridden by the ``--detect-*`` flags."""
    return DEFAULT_CONFIG.replace(
        **{name: getattr(args, f"detect_{name}") for _, name, _, _ in _DETECT_FLAGS}
    )


def format_detections(runs: RunSet, config: DetectorConfig) -> str:
    """One block per run: the verdict, the reason, spikes and the spike score."""
    lines = []
    for run in runs:
        found = detect_run(run, config)
        declared = ""
        if run.diverged is not None:
            declared = (
                f" (declared: diverged @ {run.divergence_step})"
                if run.diverged
                else " (declared: no divergence)"
            )
        spikes = ", ".join(f"{s.start}-{s.end} (peak {s.peak})" for s in found.spikes) or "none"
        lines += [
            f"{run.display_name}: {describe(found)}{declared}",
            f"  {found.reason}",
            f"  spikes: {spikes}; spike score {found.spike_score:.4g}",
        ]
        if found.grad_norm_spikes:
            grads = ", ".join(f"{s.start} ({s.ratio:.1f}x)" for s in found.grad_norm_spikes[:10])
            more = len(found.grad_norm_spikes) - 10
            tail = f" and {more} more" if more > 0 else ""
            lines.append(f"  gradient-norm spikes: {grads}{tail}")
    return "\n".join(lines)


def _load(args: argparse.Namespace) -> RunSet:
    if args.simulate:
        lengths = args.sequence_lengths or DEFAULT_LENGTHS
        return simulate(lengths, args.num_steps, args.seed)
    root = Path(args.results_dir)
    if not root.exists():
        raise StabgraphError(
            f"results folder not found: {root} (use --simulate to try stabgraph on simulated runs)"
        )
    from .store import RunStore

    store = RunStore(tag=args.tag, preset=args.preset, regex=args.regex)
    result, _key = store.load(root)
    for err in result.errors:
        print(f"warning: {err}", file=sys.stderr)
    for line in note_lines(result.runs):
        print(f"note: {line}", file=sys.stderr)
    runs = result.runs
    if args.sequence_lengths:
        runs = runs.select(lengths=args.sequence_lengths)
    if len(runs) == 0:
        raise StabgraphError(
            f"no runs found in {root} (see docs/formats.md for the file layouts; "
            "use --simulate to try stabgraph on simulated runs)"
        )
    return runs


def note_lines(runs: RunSet, *, listed: int = 3) -> list[str]:
    """What the loader noted about the runs, one line per note; a note that many runs share
    (a folder of logs that name no model) is one line with a count."""
    by_note: dict[str, list[str]] = {}
    for run in runs:
        for note in run.notes:
            by_note.setdefault(note, []).append(run.source or run.display_name)
    lines = []
    for note, sources in by_note.items():
        if len(sources) <= listed:
            lines += [f"{source}: {note}" for source in sources]
        else:
            lines.append(f"{len(sources)} runs ({sources[0]}, ...): {note}")
    return lines


def format_table(summary: dict, baseline: str, candidate: str) -> str:
    """The summary table printed to the terminal (long run names are shortened)."""
    rows = []
    for model, entries in summary.items():
        if model in ("comparison", "seeds"):
            continue
        for key, e in entries.items():
            head, _, rest = key.partition(" ")
            label = length_label(int(head)) if head.isdigit() else "-"
            name = model_display_name(model) + (f" {rest}" if rest else "")
            div = f"yes (step {e['divergence_step']})" if e["diverged"] else "no"
            found = e.get("detection")
            rows.append((_shorten(name, 36), label, e, div, describe(found) if found else ""))
    width = max([len("Model")] + [len(r[0]) for r in rows])
    rule = "=" * max(78, width + 70)
    lines = [rule, "STABILITY SUMMARY", rule]
    lines.append(
        f"{'Model':<{width}}{'Length':>8}{'Final':>12}{'Min':>12}{'NaN':>6}{'Inf':>6}  "
        f"{'Diverged':<18}Detected"
    )
    for name, label, e, div, detected in rows:
        lines.append(
            f"{name:<{width}}{label:>8}{e['final_loss']:>12.4g}{e['min_loss']:>12.4g}"
            f"{e['num_nan']:>6}{e['num_inf']:>6}  {div:<18}{detected}".rstrip()
        )
    if summary.get("seeds"):
        lines += [rule, "SEED GROUPS (final loss: mean ± sample std over the seeds)", rule]
        for model, groups in summary["seeds"].items():
            for key, g in groups.items():
                head, _, rest = key.partition(" ")
                label = length_label(int(head)) if head.isdigit() else "-"
                name = _shorten(model_display_name(model) + (f" {rest}" if rest else ""), 36)
                mean, std = g["final_loss_mean"], g["final_loss_std"]
                final = (
                    "n/a"
                    if mean is None
                    else f"{mean:.4g}" + (f" ± {std:.2g}" if std is not None else "")
                )
                steps = ", ".join(f"{s:,}" for s in g["divergence_steps"] if s is not None)
                div = f"{g['n_diverged']}/{g['n_seeds']} diverged" + (
                    f" (step {steps})" if steps else ""
                )
                lines.append(
                    f"{name:<{width}}{label:>8}  {g['n_seeds']} seeds  final {final:<20}{div}"
                )
    if summary.get("comparison"):
        lines += [
            rule,
            f"{model_display_name(candidate)} vs {model_display_name(baseline)} "
            "(improvement = baseline final - candidate final)",
            rule,
        ]
        for key, c in summary["comparison"].items():
            pct = c["improvement_pct"]
            pct_text = f"{pct:+.1f}%" if pct is not None else "n/a"
            lines.append(
                f"{length_label(int(key)) if key.isdigit() else key:>8}  "
                f"{c[f'{candidate}_final']:>12.4g} vs {c[f'{baseline}_final']:>12.4g}  "
                f"improvement {c['improvement']:>+12.4g} ({pct_text})"
            )
    lines.append(rule)
    return "\n".join(lines)


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _write_figure(
    runs: RunSet, args: argparse.Namespace, found: dict[str, Detection]
) -> list[Path]:
    """``{output}.{format}`` and, as the reference did, always ``{output}.png``."""
    from .export import export_figures
    from .figure import FigureOptions, build_figure

    options = FigureOptions(
        title=args.title,
        log_y=args.log_y,
        smoothing=args.smoothing,
        x_axis=args.x_axis,
        grad_norm=args.grad_norm,
        bands=args.bands,
        show_seeds=args.show_seeds,
    )
    formats = [args.format] if args.format == "png" else [args.format, "png"]
    fig = build_figure(runs, options, detections=found)
    return export_figures(fig, args.output, formats, dpi=args.dpi)


def _write_memory_figure(
    runs: RunSet, args: argparse.Namespace, found: dict[str, Detection]
) -> list[Path]:
    """The memory figure as ``{output}.{format}`` and ``{output}.png``, as the loss figure."""
    from .export import export_figures
    from .figure import build_memory_figure
    from .series import peak_memory_gb, ran_out_of_memory

    logs = [r for r in runs if peak_memory_gb(r) is not None or ran_out_of_memory(r)]
    if not any(r.seq_len is not None for r in logs):
        what = "no run that logs memory names a sequence length" if logs else "no run logs memory"
        print(
            f"warning: {what}; the memory figure says so "
            "(memory fields: docs/cli.md#the-memory-figure)",
            file=sys.stderr,
        )
    formats = [args.format] if args.format == "png" else [args.format, "png"]
    fig = build_memory_figure(runs, found, title=args.title)
    return export_figures(fig, args.output, formats, dpi=args.dpi)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (0 ok, 1 a user-facing error, 2 usage)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["serve"]:
        from .serve import main as serve

        return serve(argv[1:])
    if argv[:1] == ["watch"]:
        from .watch import main as watch

        return watch(argv[1:])
    args = build_parser().parse_args(argv)
    if args.output is None:
        args.output = DEFAULT_OUTPUTS[args.figure]
    try:
        detector = _detector_config(args)
        if args.detect_only:
            print(format_detections(_load(args), detector))
            return 0
        from .export import start_renderer

        start_renderer()  # Chromium starts in the background while runs load
        runs = _load(args)
        found = {r.run_id: detect_run(r, detector) for r in runs}
        summary = summarize(
            runs, baseline=args.baseline, candidate=args.candidate, detections=found
        )
        print(format_table(summary, args.baseline, args.candidate))
        if args.save_summary:
            path = write_summary(summary, f"{args.output}.json")
            print(f"summary written to {path}")
        write = _write_memory_figure if args.figure == "memory" else _write_figure
        for path in write(runs, args, found):
            print(f"figure written to {path}")
    except StabgraphError as err:
        print(f"stabgraph: error: {err}", file=sys.stderr)
        return 1
    return 0


__all__ = ["build_parser", "format_detections", "format_table", "main", "note_lines"]
