"""Which run is which: model, sequence length and seed from records, the manifest and names.

Precedence, field by field: what the record itself says (a ``seq_len`` field, a W&B run
name), then the ``runs.toml`` manifest (an explicit statement by the user), then what the
file and folder names say (``mamba_seq32768.json``, ``mamba/seq32768/seed1/events...``,
``resnetbk_seq8192_seed2.csv``). A file with no identity anywhere keeps its stem as the model
and no length, and the run says so in its notes.

The manifest maps path globs (relative to the results root, ``*`` also crosses folders) to
``model``, ``seq_len``, ``seed``, ``label``, ``tag``, ``preset`` and ``regex``. Every entry
that matches a file applies, later entries overriding earlier ones.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path, PurePosixPath
from types import MappingProxyType
from typing import Any

from ..errors import LoadError
from ..model import Run

MANIFEST_NAME = "runs.toml"

# seq32768, seq_len8192, seqlen-8k, seq_32k; seed1, seed_2. Bounded by _ - . or the ends.
_SEQ = re.compile(r"(?i)(?:^|(?<=[_\-. ]))seq(?:_?len)?[_\-=]?(\d+)([kKmM]?)(?=$|[_\-. ])")
_SEED = re.compile(r"(?i)(?:^|(?<=[_\-. ]))seed[_\-=]?(\d+)(?=$|[_\-. ])")
_WRAPPERS = re.compile(r"(?i)^long_context_|_results$|^long_context$|^results$")
_SCALE = {"": 1, "k": 1 << 10, "m": 1 << 20}

_MANIFEST_KEYS = {
    "path": str,
    "model": str,
    "seq_len": int,
    "seed": int,
    "label": str,
    "tag": str,
    "preset": str,
    "regex": str,
}


@dataclass(frozen=True)
class NameIdentity:
    """What a path's names say; ``model`` is None when they name no model."""

    model: str | None = None
    seq_len: int | None = None
    seed: int | None = None


def _strip_tokens(name: str) -> tuple[str, int | None, int | None]:
    seq = seed = None
    if m := _SEQ.search(name):
        seq = int(m.group(1)) * _SCALE[m.group(2).lower()]
    if m := _SEED.search(name):
        seed = int(m.group(1))
    rest = _SEED.sub("", _SEQ.sub("", name))
    rest = re.sub(r"[_\-. ]{2,}", "_", rest).strip("_-. ")
    return rest, seq, seed


def name_identity(text: str) -> NameIdentity:
    """Model, length and seed from one name such as ``mamba_seq32768_seed1`` (no folders)."""
    rest, seq, seed = _strip_tokens(text)
    if seq is None and seed is None:
        return NameIdentity()
    return NameIdentity(_WRAPPERS.sub("", rest) or None, seq, seed)


def path_identity(rel: PurePosixPath) -> NameIdentity:
    """Model, length and seed from a relative path, nearest name first.

    The stem counts when it carries a ``seq``/``seed`` token; a folder that is only such a
    token (``seq32768``, ``seed1``) passes the question of the model up to its parent.
    """
    names = [rel.stem, *reversed(rel.parent.parts)]
    model = seq = seed = None
    seen_token = False
    for index, name in enumerate(names):
        rest, n_seq, n_seed = _strip_tokens(name)
        rest = _WRAPPERS.sub("", rest)
        has_token = n_seq is not None or n_seed is not None
        seq = seq if seq is not None else n_seq
        seed = seed if seed is not None else n_seed
        if model is None:
            if has_token and rest:
                model = rest
            elif not has_token and seen_token and index > 0:
                model = name
        seen_token = seen_token or has_token
    if model is None and not seen_token:
        return NameIdentity()
    return NameIdentity(model, seq, seed)


@dataclass(frozen=True)
class Manifest:
    """The parsed ``runs.toml``: an ordered list of (glob, settings) entries."""

    entries: tuple[tuple[str, MappingProxyType], ...] = ()

    def settings_for(self, rel: PurePosixPath) -> dict[str, Any]:
        """Merged settings of every entry whose glob matches ``rel`` (later ones win)."""
        merged: dict[str, Any] = {}
        text = rel.as_posix()
        for pattern, settings in self.entries:
            if fnmatchcase(text, pattern) or fnmatchcase(text, pattern.rstrip("/") + "/*"):
                merged.update(settings)
        return merged


def read_manifest(root: Path) -> Manifest:
    """``root/runs.toml`` if present, else an empty manifest.

    Raises:
        LoadError: the manifest is not valid TOML or has an unknown key or a wrong type.
    """
    path = root / MANIFEST_NAME
    if not path.is_file():
        return Manifest()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise LoadError(MANIFEST_NAME, "not UTF-8 text") from None
    except tomllib.TOMLDecodeError as err:
        line = re.search(r"line (\d+)", str(err))
        reason = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(err))
        line_number = int(line[1]) if line else None
        raise LoadError(MANIFEST_NAME, f"invalid TOML ({reason})", line_number) from None
    except OSError as err:
        raise LoadError(MANIFEST_NAME, f"cannot read file ({err.strerror})") from None
    unknown = set(data) - {"runs"}
    if unknown:
        raise LoadError(MANIFEST_NAME, f"unknown table {sorted(unknown)[0]!r} (expected [[runs]])")
    runs = data.get("runs", [])
    if not isinstance(runs, list):
        raise LoadError(MANIFEST_NAME, "'runs' must be an array of tables ([[runs]])")
    entries = []
    for number, entry in enumerate(runs, start=1):
        where = f"[[runs]] entry {number}"
        if not isinstance(entry, dict) or "path" not in entry:
            raise LoadError(MANIFEST_NAME, f"{where} has no 'path' glob")
        for key, value in entry.items():
            expected = _MANIFEST_KEYS.get(key)
            if expected is None:
                raise LoadError(MANIFEST_NAME, f"{where}: unknown key {key!r}")
            if not isinstance(value, expected) or isinstance(value, bool):
                raise LoadError(
                    MANIFEST_NAME, f"{where}: {key} must be a {expected.__name__}, got {value!r}"
                )
            if key == "seq_len" and value <= 0:
                raise LoadError(
                    MANIFEST_NAME, f"{where}: seq_len must be a positive whole number, got {value}"
                )
        settings = {k: v for k, v in entry.items() if k != "path"}
        entries.append((entry["path"].lstrip("./") or "*", MappingProxyType(settings)))
    return Manifest(tuple(entries))


def _fallback_model(rel: PurePosixPath) -> tuple[str, str]:
    """The model name when nothing states one, and what it comes from ("file" or "folder").

    TensorBoard names its files ``events.out.tfevents.<time>.<host>...`` and a run by its
    folder (``runs/baseline/events...`` is the run ``baseline``), as stabgraph does too.
    """
    if rel.name.startswith("events.out.tfevents.") and rel.parent.name:
        return rel.parent.name, "folder"
    return rel.stem, "file"


def apply_identity(runs: list[Run], rel: PurePosixPath, settings: dict[str, Any]) -> list[Run]:
    """Fill model, length, seed and label of one file's runs; set ``source`` to ``rel``.

    A reader leaves ``model`` empty when the record names none.

    Raises:
        LoadError: the file's name states a sequence length of 0.
    """
    names = path_identity(rel)
    if names.seq_len == 0:
        raise LoadError(rel, "its name says seq_len 0: a length must be a positive whole number")
    out = []
    for run in runs:
        notes = list(run.notes)
        model = run.model or settings.get("model") or names.model
        seq_len = _first(run.seq_len, settings.get("seq_len"), names.seq_len)
        seed = _first(run.seed, settings.get("seed"), names.seed)
        if not model:
            model, whose = _fallback_model(rel)
            if seq_len is None:
                notes.append(
                    "no model or sequence length found in the file, its name or runs.toml: "
                    f"using the {whose} name as the model"
                )
            else:
                notes.append(f"no model name found: using the {whose} name as the model")
        label = run.label
        if settings.get("label"):
            label = f"{settings['label']} {label}" if label else settings["label"]
        out.append(
            run.with_(
                model=model,
                seq_len=seq_len,
                seed=seed,
                label=label,
                source=rel.as_posix(),
                notes=tuple(notes),
            )
        )
    return out


def _first(*values: int | None) -> int | None:
    return next((v for v in values if v is not None), None)


def identify_file(runs: list[Run], path: Path) -> list[Run]:
    """``apply_identity`` for a file read on its own: names from the file name only."""
    return apply_identity(runs, PurePosixPath(Path(path).name), {})
