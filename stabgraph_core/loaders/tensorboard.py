"""TensorBoard event files (``events.out.tfevents.*``), read record by record.

An event file is a sequence of TFRecord frames (length, its checksum, one ``Event``
protobuf, its checksum), parsed here with tensorboard's own ``Event`` message. Every frame
is checked against its CRC-32C: a damaged record in the file is an error naming the
record, and a last record cut short (the trainer is still writing it) is not written yet:
everything before it loads and the run says so. Scalars come from ``simple_value`` and from
the scalar plugin's tensors (``torch.utils.tensorboard`` and ``tf.summary`` alike).

One scalar tag is the loss: the ``tag`` option, else the first present of ``DEFAULT_TAGS``.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..errors import LoadError
from ..model import Run
from ._clean import build_runs, pending_note
from ._identity import identify_file
from ._jsonio import read_bytes

DEFAULT_TAGS = ("loss", "train_loss", "train/loss", "lm loss", "lm-loss")
FILE_PREFIX = "events.out.tfevents"
_HEADER = 12  # uint64 length + uint32 masked CRC of the length
_FOOTER = 4  # uint32 masked CRC of the data
_MASK_DELTA = 0xA282EAD8


def matches_name(path: Path) -> bool:
    """Whether the file name is a TensorBoard event file's."""
    return path.name.startswith(FILE_PREFIX)


def _crc32c() -> Callable[[bytes], int]:
    try:
        from crc32c import crc32c  # C implementation: about 500x the pure-Python one
    except ImportError:  # pragma: no cover - a declared dependency
        from tensorboard.compat.tensorflow_stub.pywrap_tensorflow import crc32c
    return crc32c


def _masked(crc: int) -> int:
    return (((crc >> 15) | (crc << 17)) + _MASK_DELTA) & 0xFFFFFFFF


def records(data: bytes, path: Path) -> tuple[list[bytes], bool]:
    """The payload of every whole record, and whether the last one is cut short.

    Raises:
        LoadError: a record whose length or data fails its checksum (names the record).
    """
    crc = _crc32c()
    out: list[bytes] = []
    pos, size = 0, len(data)
    while pos < size:
        if size - pos < _HEADER:
            return out, True
        header = data[pos : pos + 8]
        (length,) = struct.unpack_from("<Q", data, pos)
        (header_crc,) = struct.unpack_from("<I", data, pos + 8)
        if _masked(crc(header)) != header_crc:
            raise LoadError(
                path, f"record {len(out) + 1} is damaged (its length fails the checksum)"
            )
        end = pos + _HEADER + length + _FOOTER
        if end > size:
            return out, True
        payload = data[pos + _HEADER : end - _FOOTER]
        (data_crc,) = struct.unpack_from("<I", data, end - _FOOTER)
        if _masked(crc(payload)) != data_crc:
            raise LoadError(path, f"record {len(out) + 1} is damaged (its data fails the checksum)")
        out.append(payload)
        pos = end
    return out, False


def scalars(payloads: list[bytes], path: Path) -> dict[str, tuple[list[int], list[float]]]:
    """``tag -> (steps, values)`` of every scalar, in file order.

    Raises:
        LoadError: a record that passed its checksum but is not an ``Event``, or tensorboard
            is not installed.
    """
    try:
        from google.protobuf.message import DecodeError
        from tensorboard.compat.proto import event_pb2
        from tensorboard.util import tensor_util
    except ImportError:  # pragma: no cover - tensorboard is a declared dependency
        raise LoadError(
            path, "reading TensorBoard files needs tensorboard: pip install tensorboard"
        ) from None

    found: dict[str, tuple[list[int], list[float]]] = {}
    for number, payload in enumerate(payloads, start=1):
        try:
            event = event_pb2.Event.FromString(payload)
        except DecodeError:
            raise LoadError(path, f"record {number} is not a TensorBoard event") from None
        for value in event.summary.value:
            kind = value.WhichOneof("value")
            if kind == "simple_value":
                number_ = float(value.simple_value)
            elif kind == "tensor" and value.metadata.plugin_data.plugin_name == "scalars":
                array = tensor_util.make_ndarray(value.tensor)
                if array.size != 1:
                    continue
                number_ = float(array.reshape(-1)[0])
            else:
                continue
            steps, values = found.setdefault(value.tag, ([], []))
            steps.append(event.step)
            values.append(number_)
    return found


def pick_tag(available: list[str], tag: str | None, path: Path, defaults: tuple[str, ...]) -> str:
    """The requested tag, or the first default present.

    Raises:
        LoadError: the requested tag is absent, or no default is present; lists what is there.
    """
    shown = ", ".join(repr(t) for t in available[:8]) or "none"
    if tag is not None:
        if tag not in available:
            raise LoadError(path, f"no scalar tag {tag!r} (tags: {shown})")
        return tag
    for candidate in defaults:
        if candidate in available:
            return candidate
    raise LoadError(path, f"no loss tag among {', '.join(defaults)} (tags: {shown}; use --tag)")


def parse(path: Path, *, tag: str | None = None, data: bytes | None = None) -> list[Run]:
    """Runs from one event file, identity left to the caller.

    Args:
        path: the file (read unless ``data`` is given).
        tag: the loss tag (default: the first of ``DEFAULT_TAGS`` present).
        data: the file's bytes, already read (and decompressed).

    Raises:
        LoadError: damaged records, no scalars, or no such tag.
    """
    payloads, cut = records(read_bytes(path) if data is None else data, path)
    found = scalars(payloads, path)
    if not found:
        if cut:
            raise LoadError(path, "no loss values in the file (its only record is not written yet)")
        raise LoadError(path, "no scalar values in the TensorBoard event file")
    available = list(found)
    chosen = pick_tag(available, tag, path, DEFAULT_TAGS)
    steps, values = found[chosen]
    return build_runs(
        np.array(steps, dtype=np.int64),
        np.array(values, dtype=np.float64),
        path=path,
        notes=[pending_note("record", "cut short")] if cut else [],
        model="",
        metadata={"tag": chosen, "tags": available},
    )


def read(path: Path, *, tag: str | None = None) -> list[Run]:
    """Read one event file (see the module docstring for the tag).

    Raises:
        LoadError: see ``parse``.
    """
    path = Path(path)
    return identify_file(parse(path, tag=tag), path)
