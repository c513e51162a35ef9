"""For tampering tests: run a statement past the append-only triggers, as someone with the
SQLite file or a PostgreSQL superuser could, and leave the triggers as they were."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

import psycopg


def tamper(url: str, statement: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    """Run ``statement`` (``?`` placeholders) on the control database at ``url``."""
    if url.startswith("sqlite"):
        return _sqlite(url.split("///", 1)[1], statement, params)
    with psycopg.connect(url, autocommit=True) as db:
        db.execute("SET session_replication_role = replica")  # a superuser skips triggers
        cursor = db.execute(statement.replace("?", "%s"), params)
        return cursor.fetchall() if cursor.description else []


def _sqlite(path: str, statement: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    with sqlite3.connect(path) as db:
        triggers = db.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger'"
            " AND tbl_name IN ('audit_records', 'audit_chain', 'audit_checkpoints')"
        ).fetchall()
        for name, _ in triggers:
            db.execute(f'DROP TRIGGER "{name}"')
        try:
            return db.execute(statement, params).fetchall()
        finally:
            for _, definition in triggers:
                db.execute(definition)
