"""Loading training runs from a results folder: ``load_results(path)`` over one module per format.

Formats (one module each, each with ``read(path) -> list[Run]``):

========================  ===================================================================
``reference_json``        ``{model}_seq{N}.json``: ``{seq_len, steps, loss, diverged, ...}``
``long_context``          ``train_long_context.py`` output with ``metrics_history``
``tensorboard``           ``events.out.tfevents.*`` (scalar tag by option), CRC-checked
``tb_export``             TensorBoard UI downloads: CSV ``Wall time,Step,Value`` / JSON rows
``wandb_csv``             W&B chart CSV export, several runs per file
``hf_trainer``            Hugging Face ``trainer_state.json``
``jsonl``                 one JSON record per line (LLaMA-Factory and the like)
``lightning_csv``         PyTorch Lightning ``metrics.csv`` or any ``step,loss`` CSV
``console``               console logs: nanoGPT, llm.c, modded-nanogpt, Megatron, or a regex
``resnet_bk``             ResNet-BK training logs (three JSON shapes)
========================  ===================================================================

How trainers leave files is part of every format: a missing value (empty cell, ``null``,
a record without the field) is no point, never a NaN; NaN/Inf is only what the file wrote
as such; a last record without its end (no final line break, cut JSON, a short CSV row, a
cut event record) is not written yet: the rest loads and the run's notes say so; a file
with no loss value at all is one error, never a run; ``.gz`` copies read as what they hold.

Which run is which is decided in ``_identity`` (record fields, then ``runs.toml``, then names);
sorting, duplicate steps and appended runs in ``_clean``. Every file that cannot be read
becomes one ``LoadError`` in ``LoadResult.errors``; the others still load. Nothing is ever
written into the results folder.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ..errors import LoadError, NotFoundError
from ..model import Run, RunSet
from ..walk import file_entry, walk_files
from . import (
    _incremental,
    console,
    hf_trainer,
    jsonl,
    lightning_csv,
    long_context,
    reference_json,
    resnet_bk,
    tb_export,
    tensorboard,
    wandb_csv,
)
from ._cache import cache_size, cached_read
from ._cache import clear_cache as _clear_file_cache
from ._dispatch import read_file
from ._identity import MANIFEST_NAME, Manifest, apply_identity, read_manifest

#: Every reader module, by format name.
READERS = {
    "reference_json": reference_json,
    "long_context": long_context,
    "tensorboard": tensorboard,
    "tb_export": tb_export,
    "wandb_csv": wandb_csv,
    "hf_trainer": hf_trainer,
    "jsonl": jsonl,
    "lightning_csv": lightning_csv,
    "console": console,
    "resnet_bk": resnet_bk,
}

#: Files that sit next to logs but are not logs (figures, docs, configs, code, checkpoints).
IGNORED_SUFFIXES = frozenset(
    [
        ".pdf",
        ".png",
        ".svg",
        ".eps",
        ".jpg",
        ".jpeg",
        ".gif",
        ".webp",
        ".html",
        ".md",
        ".rst",
        ".toml",
        ".yaml",
        ".yml",
        ".ini",
        ".cfg",
        ".py",
        ".sh",
        ".ipynb",
        ".pt",
        ".pth",
        ".ckpt",
        ".safetensors",
        ".wandb",
        ".npy",
        ".npz",
        ".h5",
        ".hdf5",
        ".pkl",
        ".pickle",
        ".onnx",
        ".gguf",
        ".parquet",
        ".arrow",
        ".lock",
    ]
)
IGNORED_NAMES = frozenset(
    {
        "config.json",
        "generation_config.json",
        "tokenizer.json",
        "tokenizer_config.json",
        "special_tokens_map.json",
        "adapter_config.json",
        "vocab.json",
        "all_results.json",
        "train_results.json",
        "eval_results.json",
        "training_args.bin",
        "wandb-summary.json",
        "wandb-metadata.json",
        "requirements.txt",
        "SOURCES.md",
    }
)


@dataclass(frozen=True)
class LoadResult:
    """What a results folder gave: the runs, and one error per file that could not be read.

    Args:
        runs: every run loaded, in file order (sorted paths).
        errors: one ``LoadError`` per unreadable file, its path relative to the results root.
    """

    runs: RunSet
    errors: tuple[LoadError, ...] = ()


def _is_candidate(path: Path) -> bool:
    name = path.name
    return not (
        name.startswith(".")
        or name == MANIFEST_NAME
        or name in IGNORED_NAMES
        or path.suffix.lower() in IGNORED_SUFFIXES
        or name.startswith("pytorch_model")
    )


def _files(target: Path, within: Path | None) -> tuple[list[Path], list[LoadError]]:
    """The files to read (``target`` itself, or every candidate below it), and one error per
    file the walk refused (a link leading outside ``within``, a pipe, ...): never opened."""
    if target.is_file():
        single = file_entry(target, within=within)
        if single is None or single.refused is None:
            return [target], []
        return [], [LoadError(single.rel, single.refused)]
    found, refused = [], []
    for entry in walk_files(target, within=within):
        if entry.refused is None and _is_candidate(entry.path):
            found.append(entry.path)
        elif entry.refused is not None and (
            _is_candidate(entry.path) or entry.rel == MANIFEST_NAME
        ):
            refused.append(LoadError(entry.rel, entry.refused))
    return found, refused


def clear_cache() -> None:
    """Forget every cached file and every grown file's read position."""
    _clear_file_cache()
    _incremental.clear()


def _check_options(preset: str | None, regex: str | None) -> None:
    if preset is not None:
        console.preset_pattern(preset)
    if regex is not None:
        console.compile_regex(regex)


def _disambiguate(runs: list[Run]) -> list[Run]:
    """Runs that would share (model, length, seed, label) get their file as label."""
    counts: dict[tuple, int] = {}
    for run in runs:
        counts[run.key] = counts.get(run.key, 0) + 1
    out = []
    for run in runs:
        if counts[run.key] > 1:
            label = f"{run.label} {run.source}" if run.label else run.source
            note = "another file gives a run with the same model, length and seed: labelled by file"
            run = run.with_(label=label, notes=(*run.notes, note))
        out.append(run)
    return out


def load_results(
    path: str | Path,
    *,
    tag: str | None = None,
    preset: str | None = None,
    regex: str | None = None,
    within: str | Path | None = None,
) -> LoadResult:
    """Every run in a results folder (or one file), and one error line per unreadable file.

    Args:
        path: a results folder (walked recursively, hidden files skipped) or a single file.
        tag: the loss series where a format has several (TensorBoard tag, W&B metric,
            trainer-state key, CSV column, JSONL field).
        preset: console-log preset (``nanogpt``, ``llmc``, ``modded-nanogpt``, ``megatron``);
            default: detected per file.
        regex: console-log regex with named groups ``step`` and ``loss``.
        within: when given, no file outside this folder is opened: a link that leads out
            of it is one error line (the app passes its results root).

    ``runs.toml`` entries override ``tag``, ``preset`` and ``regex`` for the files they match.
    Unchanged files are served from an in-process cache (see ``_cache``); of a log that
    grew since the last call, only the new lines (or records) are read (see ``_incremental``).

    Returns:
        The runs and the errors (paths relative to the results root).

    Raises:
        NotFoundError: ``path`` does not exist.
        InvalidArgumentError: an unknown preset, or a regex that does not compile or lacks the
            ``step``/``loss`` groups.
    """
    target = Path(path)
    if not target.exists():
        raise NotFoundError(f"results folder not found: {target}")
    _check_options(preset, regex)
    base = target.parent if target.is_file() else target
    files, errors = _files(target, Path(within) if within is not None else None)
    try:
        refused = any(e.path == MANIFEST_NAME for e in errors)
        manifest = Manifest() if refused else read_manifest(base)
    except LoadError as err:
        errors.append(err)
        manifest = Manifest()
    runs: list[Run] = []
    for file in files:
        rel = PurePosixPath(file.relative_to(base).as_posix())
        settings = manifest.settings_for(rel)
        options = (
            settings.get("tag", tag),
            settings.get("preset", preset),
            settings.get("regex", regex),
        )
        entry = cached_read(
            file, options, lambda file=file, options=options: _incremental.read(file, options)
        )
        try:
            if isinstance(entry, LoadError):
                raise entry
            runs += apply_identity(entry, rel, settings)
        except LoadError as err:
            errors.append(LoadError(rel.as_posix(), err.reason, err.line))
    return LoadResult(RunSet(_disambiguate(runs)), tuple(errors))


__all__ = [
    "IGNORED_NAMES",
    "IGNORED_SUFFIXES",
    "READERS",
    "LoadResult",
    "cache_size",
    "clear_cache",
    "load_results",
    "read_file",
]
