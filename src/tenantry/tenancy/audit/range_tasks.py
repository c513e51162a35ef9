"""What a verifying worker process does with one range (``ranges.py``): read the range's links
from the control database, or its lines from an export, and check them.

A worker has no event loop and no engine: it opens a plain driver connection (``sqlite3``, read
only, or ``psycopg``) and runs the same select as ``repository.links``, so it reads the values the
sequencer hashed. Imports stay light (no database layer), as every worker process imports this.
Any error is a doubt, never a verdict: the chain is then verified link by link.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, Final

from tenantry.tenancy.audit import canonical, export_lines
from tenantry.tenancy.audit.links import Link
from tenantry.tenancy.audit.ranges import RangeVerifier, Span

_BATCH: Final = 5000
# PostgreSQL renders the timestamp in the canonical spelling itself (``canonical.timestamp``):
# turning each timestamptz into a datetime and back is most of a row's cost in Python. The
# spelling is one-to-one on timestamps, so a hash that matches it matches the record's.
_PG_TS: Final = "to_char(r.ts AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"+00:00\"')"
_LINKS: Final = (
    "SELECT c.seq, c.record_id, c.prev_hash, c.hash, {columns} FROM audit_chain c"
    " LEFT JOIN audit_records r ON r.id = c.record_id"
    " WHERE c.chain = {p} AND c.seq > {p} AND c.seq <= {p} ORDER BY c.seq"
)
_COLUMNS: Final = [f"r.{name}" for name in canonical.FIELDS]
_SQLITE_LINKS: Final = _LINKS.format(columns=", ".join(_COLUMNS), p="?")
_PG_LINKS: Final = _LINKS.format(
    columns=", ".join(_PG_TS if column == "r.ts" else column for column in _COLUMNS), p="%s"
)


@dataclass(frozen=True, slots=True)
class Database:
    """Where a worker reads: a SQLite file, or a PostgreSQL connection string."""

    sqlite_path: str | None = None
    postgres: str | None = field(default=None, repr=False)  # it may hold a password


@dataclass(frozen=True, slots=True)
class DatabaseRange:
    """Links ``after`` < seq <= ``upto`` of ``chain``; ``signed``: its checkpoints' hashes."""

    database: Database
    chain: str
    after: int
    upto: int
    signed: Mapping[int, str]
    settle: timedelta


@dataclass(frozen=True, slots=True)
class FileRange:
    """The export's lines from byte ``start`` (a line's start) to ``end``, all link lines."""

    path: str
    start: int
    end: int
    signed: Mapping[str, Mapping[int, str]]  # per chain
    settle: timedelta


def verify_database_range(task: DatabaseRange) -> Span | None:
    verifier = RangeVerifier(task.chain, task.signed, settle=task.settle)
    try:
        for batch in _read(task):
            if not verifier.check(batch):
                break
    except Exception:
        return Span(task.chain, sound=False)
    return verifier.span()


def _read(task: DatabaseRange) -> Iterator[list[Link]]:
    params = (task.chain, task.after, task.upto)
    if task.database.sqlite_path is not None:
        uri = Path(task.database.sqlite_path).resolve().as_uri() + "?mode=ro"
        with closing(sqlite3.connect(uri, uri=True)) as lite:
            yield from _batches(lite.execute(_SQLITE_LINKS, params), canonical.record_values)
    elif task.database.postgres is not None:
        import psycopg  # noqa: PLC0415 - a SQLite worker need not pay for importing it

        with psycopg.connect(task.database.postgres) as pg, pg.cursor() as cursor:
            cursor.execute(_PG_LINKS, params)
            yield from _batches(cursor, canonical.record_values_rendered)
    else:
        raise ValueError("a worker's database is SQLite or PostgreSQL")


def _batches(cursor: Any, values: Callable[[Sequence[Any]], list[Any]]) -> Iterator[list[Link]]:
    while rows := cursor.fetchmany(_BATCH):
        yield [
            (row[0], row[1], row[2], row[3], None if row[4] is None else values(row[4:]), None)
            for row in rows
        ]


def verify_file_range(task: FileRange) -> list[Span]:
    """Each chain's span of the range, in the order the chains first appear."""
    verifiers: dict[str, RangeVerifier] = {}
    try:
        with Path(task.path).open("rb") as file:
            file.seek(task.start)
            lines = file.read(task.end - task.start).split(b"\n")
        for line in lines:
            if line.strip() and not _take(line, verifiers, task):
                return [Span("", sound=False)]
    except Exception:
        return [Span("", sound=False)]
    return [span for v in verifiers.values() if (span := v.span()) is not None]


def _take(line: bytes, verifiers: dict[str, RangeVerifier], task: FileRange) -> bool:
    """One line, which must be a link line read as a text file would read it."""
    if b"\r" in line:  # a text file reads a line break there
        return False
    text, entry = export_lines.parsed(line.decode("utf-8"))
    if not isinstance(entry, dict) or entry.get("type") != "link":
        return False
    chain = entry["chain"]
    if not isinstance(chain, str):
        return False
    verifier = verifiers.get(chain)
    if verifier is None:
        verifier = RangeVerifier(chain, task.signed.get(chain, {}), settle=task.settle)
        verifiers[chain] = verifier
    return verifier.check([export_lines.link(entry, text)])
