"""The run model: what a run, a step and a series mean everywhere in stabgraph.

A *run* is one training curve: the loss of one model at one sequence length (and
optionally one seed) against the optimizer *step*. ``steps`` is a sorted int64 array;
``loss`` is a float64 array of the same length in which NaN and +/-Inf are kept exactly as
logged, because they are the signal users look for. Other per-step *series* (gradient norm,
learning rate, memory, tokens seen, ...) live in ``extra`` on the same steps, NaN where a
step did not log them.

A source may *declare* divergence (the simulator does, and so do the reference's JSON
files); that is kept apart from what ``stabgraph_core.detect`` finds in the data.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

import numpy as np

from .errors import InvalidArgumentError

MODEL_DISPLAY_NAMES: Mapping[str, str] = MappingProxyType(
    {"resnetbk": "ResNet-BK", "resnet-bk": "ResNet-BK", "resnet_bk": "ResNet-BK", "mamba": "Mamba"}
)


def model_display_name(model: str) -> str:
    """``resnetbk`` -> ``ResNet-BK``, ``mamba`` -> ``Mamba``; other names unchanged."""
    return MODEL_DISPLAY_NAMES.get(model.lower(), model)


#: How a run whose files name no sequence length is listed (checklists, legends).
NO_LENGTH_LABEL = "no length"


def length_label(seq_len: int | None) -> str:
    """Sequence length with binary k/M: 8192 -> 8k, 524288 -> 512k, 1048576 -> 1M.

    Lengths that are not a whole number of k (1024) are printed as they are.
    """
    if seq_len is None:
        return "?"
    if seq_len >= 1 << 20 and seq_len % (1 << 20) == 0:
        return f"{seq_len >> 20}M"
    if seq_len >= 1 << 10 and seq_len % (1 << 10) == 0:
        return f"{seq_len >> 10}k"
    return str(seq_len)


@dataclass(frozen=True, eq=False)
class Run:
    """One training curve. See the module docstring for what the fields mean.

    Args:
        model: model name, e.g. ``resnetbk``, ``mamba`` or any other string.
        seq_len: sequence length in tokens, or None when the source does not say.
        steps: int64 steps, sorted ascending, unique.
        loss: float64 loss per step, NaN/Inf kept.
        seed: training seed when known.
        label: free-form name (a W&B run name, ``segment 2``, a manifest label).
        extra: other series on the same steps (``grad_norm``, ``learning_rate``, ...).
        diverged: divergence as declared by the source, None when it says nothing.
        divergence_step: the declared divergence step, None when not declared.
        source: where it came from (path relative to the results root, or ``simulated``).
        notes: things the loader did that a user should know (duplicates replaced, ...).
        metadata: anything else the source carried (JSON-serialisable).

    Raises:
        InvalidArgumentError: steps and loss differ in length, or a series does not match.
    """

    model: str
    seq_len: int | None
    steps: np.ndarray
    loss: np.ndarray
    seed: int | None = None
    label: str | None = None
    extra: Mapping[str, np.ndarray] = field(default_factory=dict)
    diverged: bool | None = None
    divergence_step: int | None = None
    source: str = ""
    notes: tuple[str, ...] = ()
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        steps = np.asarray(self.steps, dtype=np.int64)
        loss = np.asarray(self.loss, dtype=np.float64)
        if steps.ndim != 1 or loss.shape != steps.shape:
            raise InvalidArgumentError(
                f"run {self.model!r}: {steps.size} steps but {loss.size} loss values"
            )
        extra = {}
        for name, values in self.extra.items():
            arr = np.asarray(values, dtype=np.float64)
            if arr.shape != steps.shape:
                raise InvalidArgumentError(
                    f"run {self.model!r}: series {name!r} has {arr.size} values "
                    f"for {steps.size} steps"
                )
            extra[name] = arr
        object.__setattr__(self, "steps", steps)
        object.__setattr__(self, "loss", loss)
        object.__setattr__(self, "extra", MappingProxyType(extra))
        object.__setattr__(self, "notes", tuple(self.notes))
        object.__setattr__(self, "metadata", MappingProxyType(dict(self.metadata)))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Run):
            return NotImplemented
        return (
            self.key == other.key
            and self.diverged == other.diverged
            and self.divergence_step == other.divergence_step
            and np.array_equal(self.steps, other.steps)
            and np.array_equal(self.loss, other.loss, equal_nan=True)
            and self.extra.keys() == other.extra.keys()
            and all(
                np.array_equal(v, other.extra[k], equal_nan=True) for k, v in self.extra.items()
            )
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (
            f"Run({self.model!r}, seq_len={self.seq_len}, seed={self.seed}, label={self.label!r}, "
            f"points={self.steps.size}, source={self.source!r})"
        )

    @property
    def key(self) -> tuple[str, int | None, int | None, str | None]:
        """Identity within a run set: (model, seq_len, seed, label)."""
        return (self.model, self.seq_len, self.seed, self.label)

    @property
    def display_name(self) -> str:
        """``Mamba 32k``, ``Mamba 32k seed 1``, ``gpt2 (train/loss)``, ..."""
        parts = [model_display_name(self.model)]
        if self.seq_len is not None:
            parts.append(length_label(self.seq_len))
        if self.seed is not None:
            parts.append(f"seed {self.seed}")
        if self.label:
            parts.append(f"({self.label})")
        return " ".join(parts)

    @property
    def run_id(self) -> str:
        """A stable, URL- and file-safe identifier for this run."""
        parts = [self.model, f"seq{self.seq_len}" if self.seq_len is not None else "seqNA"]
        if self.seed is not None:
            parts.append(f"seed{self.seed}")
        if self.label:
            parts.append(self.label)
        return "_".join(parts).replace(" ", "-").replace("/", "-")

    def with_(self, **changes: Any) -> Run:
        """A copy with some fields changed (frozen dataclasses cannot be edited)."""
        return replace(self, **changes)


class RunSet:
    """An ordered, immutable collection of runs that selects by model, length and seed."""

    def __init__(self, runs: Iterable[Run] = ()) -> None:
        self._runs: tuple[Run, ...] = tuple(runs)

    def __iter__(self) -> Iterator[Run]:
        return iter(self._runs)

    def __len__(self) -> int:
        return len(self._runs)

    def __getitem__(self, index: int) -> Run:
        return self._runs[index]

    def __repr__(self) -> str:
        return f"RunSet({len(self._runs)} runs: {', '.join(r.display_name for r in self._runs)})"

    @property
    def models(self) -> list[str]:
        """Model names in first-seen order."""
        return list(dict.fromkeys(r.model for r in self._runs))

    @property
    def lengths(self) -> list[int]:
        """Known sequence lengths, ascending."""
        return sorted({r.seq_len for r in self._runs if r.seq_len is not None})

    @property
    def length_choices(self) -> list[int | None]:
        """Every length a run has, ascending, then None when some run names no length.

        Most real logs name no length; such runs are listed, drawn and toggled as a length
        of their own (shown as :data:`NO_LENGTH_LABEL`).
        """
        unknown = [None] if any(r.seq_len is None for r in self._runs) else []
        return [*self.lengths, *unknown]

    @property
    def seeds(self) -> list[int]:
        """Known seeds, ascending."""
        return sorted({r.seed for r in self._runs if r.seed is not None})

    def select(
        self,
        *,
        models: Iterable[str] | None = None,
        lengths: Iterable[int | None] | None = None,
        seeds: Iterable[int | None] | None = None,
    ) -> RunSet:
        """Runs whose model, length and seed are in the given collections (None = any).

        Raises:
            InvalidArgumentError: a bare string was passed where a collection is expected.
        """
        for name, value in (("models", models), ("lengths", lengths), ("seeds", seeds)):
            if isinstance(value, str):
                raise InvalidArgumentError(f"{name} must be a collection, not the string {value!r}")
        m = None if models is None else frozenset(models)
        n = None if lengths is None else frozenset(lengths)
        s = None if seeds is None else frozenset(seeds)
        return RunSet(
            r
            for r in self._runs
            if (m is None or r.model in m)
            and (n is None or r.seq_len in n)
            and (s is None or r.seed in s)
        )

    def get(self, model: str, seq_len: int | None, seed: int | None = None) -> Run | None:
        """The first run with this model, length and seed, or None."""
        for r in self._runs:
            if r.model == model and r.seq_len == seq_len and r.seed == seed:
                return r
        return None
