"""The audit tables refuse UPDATE and DELETE on both control databases, with one owner.

Here the serving URL's role also owns the tables (the default): the grants cannot stop it, the
trigger does, and the prune path is the only way through. The two-role split is in
``test_append_only_roles.py``.
"""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from tenantry.bootstrap import Services
from tenantry.tenancy.audit.append_only import existing_tables
from tenantry.tenancy.audit.pruning_access import allow_prune, owner_engine
from tenantry.tenancy.audit.schemas import AuditEntry, Outcome
from tenantry.tenancy.registry.database import session_factory
from tests.integration.audit.bypass import tamper


async def _record(wired: Services, action: str) -> None:
    await wired.audit.record([AuditEntry("alice", action, "acme", Outcome.SUCCEEDED)])


async def _count(engine: AsyncEngine, action: str) -> int:
    async with engine.connect() as connection:
        query = text("SELECT count(*) FROM audit_records WHERE action = :a")
        return int((await connection.execute(query, {"a": action})).scalar_one())


async def _refused(engine: AsyncEngine, statement: str) -> str:
    with pytest.raises(DBAPIError) as refused:
        async with engine.begin() as connection:
            await connection.execute(text(statement))
    return str(refused.value)


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_records SET outcome = 'denied'",
        "UPDATE audit_records SET actor = 'mallory' WHERE action = 'kept'",
        "DELETE FROM audit_records",
        "DELETE FROM audit_records WHERE action = 'kept'",
    ],
)
async def test_update_and_delete_are_refused(wired: Services, statement: str) -> None:
    await _record(wired, "kept")
    assert "append-only" in await _refused(wired.engine, statement)
    assert await _count(wired.engine, "kept") == 1


_TRIGGERS = {
    "sqlite": "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = :t",
    "postgresql": "SELECT tgname FROM pg_trigger WHERE tgrelid = to_regclass(:t)",
}
_EXPECTED = {"sqlite": ("_no_update", "_no_delete"), "postgresql": ("_append_only", "_no_truncate")}


async def test_every_audit_table_has_its_triggers(wired: Services) -> None:
    """Rows of ``audit_chain`` and ``audit_checkpoints`` are another module's to write: their
    guard is checked in the catalog (a row trigger does not fire on an empty table)."""
    dialect = wired.engine.dialect.name
    async with wired.engine.connect() as connection:
        tables = await connection.run_sync(existing_tables)
        assert "audit_records" in tables
        for table in tables:
            found = await connection.execute(text(_TRIGGERS[dialect]), {"t": table})
            assert {f"{table}{suffix}" for suffix in _EXPECTED[dialect]} <= set(found.scalars())


async def test_the_prune_path_deletes_and_then_the_guard_is_back(wired: Services) -> None:
    await _record(wired, "old")
    await _record(wired, "new")
    engine = owner_engine(wired.settings)
    try:
        async with session_factory(engine)() as session, session.begin(), allow_prune(session):
            await session.execute(text("DELETE FROM audit_records WHERE action = 'old'"))
        assert await _count(wired.engine, "old") == 0
        assert "append-only" in await _refused(engine, "DELETE FROM audit_records")
        assert "append-only" in await _refused(wired.engine, "DELETE FROM audit_records")
    finally:
        await engine.dispose()
    assert await _count(wired.engine, "new") == 1


async def test_a_failed_prune_changes_nothing_and_keeps_the_guard(wired: Services) -> None:
    await _record(wired, "kept")
    engine = owner_engine(wired.settings)
    try:
        with pytest.raises(RuntimeError, match="prune failed"):
            async with session_factory(engine)() as session, session.begin(), allow_prune(session):
                await session.execute(text("DELETE FROM audit_records"))
                raise RuntimeError("prune failed")
        assert await _count(wired.engine, "kept") == 1
        assert "append-only" in await _refused(wired.engine, "DELETE FROM audit_records")
    finally:
        await engine.dispose()


async def test_the_prune_switch_does_not_lift_the_update_guard(wired: Services) -> None:
    await _record(wired, "kept")
    engine = owner_engine(wired.settings)
    try:
        with pytest.raises(DBAPIError, match="append-only"):
            async with session_factory(engine)() as session, session.begin(), allow_prune(session):
                await session.execute(text("UPDATE audit_records SET actor = 'mallory'"))
    finally:
        await engine.dispose()
    assert await _count(wired.engine, "kept") == 1


async def test_tampering_tests_can_still_edit_and_the_guard_stays(wired: Services) -> None:
    """``bypass.tamper`` is how a tampering test edits the log (the chain must then notice)."""
    await _record(wired, "edited")
    url = wired.settings.control_database_url()
    tamper(url, "UPDATE audit_records SET actor = ? WHERE action = ?", ("mallory", "edited"))
    async with wired.engine.connect() as connection:
        query = text("SELECT actor FROM audit_records WHERE action = 'edited'")
        assert (await connection.execute(query)).scalar_one() == "mallory"
    assert "append-only" in await _refused(wired.engine, "UPDATE audit_records SET actor = 'x'")
