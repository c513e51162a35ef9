"""Splitting verification into ranges for the worker processes (``parallel.py``), and stitching
their spans back per chain (``ranges.stitch``): for the database and for an export file.

An export is verified in byte ranges of its link lines; anything unusual in the file (a key or
checkpoint line after the first link, a line a worker cannot read) is a doubt, and the whole file
is then verified line by line as before (``export.verify_lines``), with the same verdict or error.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, Final

from tenantry.tenancy.audit import export_lines, parallel
from tenantry.tenancy.audit.export import verify_lines
from tenantry.tenancy.audit.ports import PublicKeyInfo
from tenantry.tenancy.audit.range_tasks import (
    Database,
    DatabaseRange,
    FileRange,
    verify_database_range,
    verify_file_range,
)
from tenantry.tenancy.audit.ranges import Span, stitch
from tenantry.tenancy.audit.schemas import Verdict
from tenantry.tenancy.audit.verify import ChainVerifier, Checkpoint, public_keys

Progress = Callable[[int, int], None]  # (done, total): links, or bytes of an export
_PIECES_PER_PROCESS: Final = 4  # ranges per worker, so a slow one does not hold up the rest
_LINE_BYTES: Final = 500  # about one link line of an export, to size its ranges in links
_MOST: Final = 50_000  # links in one range at most: a worker holds its range in memory


@dataclass(frozen=True, slots=True)
class Split:
    """How verification splits: ``processes`` workers (0: one per core), ranges of at least
    ``least`` links (or export bytes), and no split below ``threshold`` of them."""

    processes: int = 0
    threshold: int = 20_000
    least: int = 5_000


def database_spans(
    database: Database,
    bounds: Mapping[str, tuple[int, int]],
    checkpoints: Mapping[str, Sequence[Checkpoint]],
    *,
    settle: timedelta,
    split: Split,
    progress: Progress | None = None,
) -> dict[str, list[Span]]:
    """Each chain's spans, in ``seq`` order: chains' links ``(first, last)`` from ``bounds``."""
    processes = parallel.processes(split.processes)
    total = sum(last - first + 1 for first, last in bounds.values())
    size = _size(total, processes, split)
    signed = {chain: {c.seq: c.hash for c in checkpoints[chain]} for chain in bounds}
    tasks = [
        DatabaseRange(database, chain, after, min(after + size, last), signed[chain], settle)
        for chain, (first, last) in bounds.items()
        for after in range(first - 1, last, size)
    ]
    sizes = [task.upto - task.after for task in tasks]
    spans = parallel.run_all(
        verify_database_range, tasks, processes=processes, done=_counter(sizes, progress)
    )
    found: dict[str, list[Span]] = {chain: [] for chain in bounds}
    for task, span in zip(tasks, spans, strict=True):
        if span is not None:
            found[task.chain].append(span)
    return found


def _size(total: int, processes: int, split: Split) -> int:
    """Links per range: a few ranges per worker, within bounds."""
    return min(_MOST, max(split.least, math.ceil(total / (processes * _PIECES_PER_PROCESS))))


def _counter(sizes: Sequence[int], progress: Progress | None) -> Callable[[int], None] | None:
    if progress is None:
        return None
    total, done = sum(sizes), [0]

    def finished(index: int) -> None:
        done[0] += sizes[index]
        progress(done[0], total)

    return finished


def verify_file(
    path: Path, *, settle: timedelta, split: Split, progress: Progress | None = None
) -> Verdict:
    """Verify an export file as ``export.verify_lines`` would, in ranges when it is large."""
    head = _head(path)
    size = path.stat().st_size
    processes = parallel.processes(split.processes)
    body = size - (head.links_at if head is not None else 0)
    if head is None or body < split.threshold * _LINE_BYTES:
        return _careful(path, settle)
    piece = _size(body // _LINE_BYTES, processes, split) * _LINE_BYTES
    starts = _line_starts(path, head.links_at, size, piece)
    signed = {chain: {c.seq: c.hash for c in found} for chain, found in head.checkpoints.items()}
    tasks = [
        FileRange(str(path), start, end, signed, settle)
        for start, end in zip(starts, [*starts[1:], size], strict=True)
    ]
    sizes = [task.end - task.start for task in tasks]
    results = parallel.run_all(
        verify_file_range, tasks, processes=processes, done=_counter(sizes, progress)
    )
    verdict = _stitched(head, [span for spans in results for span in spans], settle)
    return verdict if verdict is not None else _careful(path, settle)


@dataclass
class _Head:
    """The lines before the first link: keys and checkpoints; ``links_at``: that link's byte."""

    keys: list[PublicKeyInfo]
    checkpoints: dict[str, list[Checkpoint]]
    links_at: int


def _head(path: Path) -> _Head | None:
    """The export's head, read as ``export.verify_lines`` reads it; None when anything in it is
    unusual (the careful way then reads the whole file, and reports it)."""
    head = _Head([], {}, 0)
    with path.open("rb") as file:
        while line := file.readline():
            if b"\r" in line.rstrip(b"\n"):
                return None
            try:
                entry = export_lines.parsed(line.decode("utf-8"))[1] if line.strip() else None
                if entry is not None and (not isinstance(entry, dict) or _is_link(entry)):
                    break
                if entry is not None:
                    _take(entry, head)
            except (KeyError, TypeError, ValueError):
                return None
            head.links_at = file.tell()
    return head


def _is_link(entry: dict[str, Any]) -> bool:
    return entry.get("type") == "link"


def _take(entry: dict[str, Any], head: _Head) -> None:
    kind = entry.get("type")
    if kind == "key":
        head.keys.append(PublicKeyInfo(entry["kid"], entry["created_at"], entry["public"]))
    elif kind == "checkpoint":
        checkpoint = Checkpoint(**{k: v for k, v in entry.items() if k != "type"})
        head.checkpoints.setdefault(checkpoint.chain, []).append(checkpoint)
    elif kind != "export":
        raise ValueError(f"unknown line type {kind!r}")


def _line_starts(path: Path, first: int, size: int, piece: int) -> list[int]:
    """Byte offsets of line starts about ``piece`` apart, from ``first``."""
    starts = [first]
    with path.open("rb") as file:
        while starts[-1] + piece < size:
            file.seek(starts[-1] + piece)
            file.readline()
            if file.tell() >= size:
                break
            starts.append(file.tell())
    return starts


def _stitched(head: _Head, spans: Sequence[Span], settle: timedelta) -> Verdict | None:
    if any(not span.sound for span in spans):
        return None
    try:
        keys = public_keys(head.keys)
    except ValueError:
        return None
    chains = sorted({span.chain for span in spans} | set(head.checkpoints))
    verifiers = {
        c: ChainVerifier(c, head.checkpoints.get(c, []), keys, settle=settle) for c in chains
    }
    for chain, verifier in verifiers.items():
        if not stitch(verifier, [s for s in spans if s.chain == chain], settle=settle):
            return None
    return Verdict([verifiers[c].report() for c in chains])


def _careful(path: Path, settle: timedelta) -> Verdict:
    with path.open(encoding="utf-8") as lines:
        return verify_lines(lines, settle=settle)
