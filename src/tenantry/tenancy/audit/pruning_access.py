"""The one sanctioned way past the append-only guard: the prune command, as the owner role."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from tenantry.core.settings import Settings
from tenantry.tenancy.audit import append_only
from tenantry.tenancy.registry import database


def owner_engine(settings: Settings) -> AsyncEngine:
    """The control database as its tables' owner (``TENANTRY_DATABASE_OWNER_URL``, else the
    serving URL, which then is the owner). The caller disposes of it."""
    return database.owner_engine(settings.database_owner_url or settings.control_database_url())


@asynccontextmanager
async def allow_prune(session: AsyncSession) -> AsyncIterator[None]:
    """Let DELETE through the audit tables' triggers for the rest of ``session``'s transaction.

    PostgreSQL: sets the transaction-local setting the trigger reads; the trigger still lets
    only the tables' owner through, and the serving role has no DELETE privilege anyway.
    SQLite: lifts the DELETE triggers and puts them back on the way out, in the same
    transaction, so a rollback restores them too.
    """
    connection = await session.connection()
    if connection.dialect.name != "sqlite":
        await _prune_setting(session, "on")
        try:
            yield
        finally:
            # After a failed statement the transaction is void and the setting with it.
            with suppress(SQLAlchemyError):
                await _prune_setting(session, "off")
        return
    lifted = await _lift_sqlite_triggers(session)
    try:
        yield
    finally:
        for definition in lifted:
            await session.execute(text(definition))


async def _prune_setting(session: AsyncSession, value: str) -> None:
    await session.execute(text(f"SET LOCAL {append_only.PRUNE_SETTING} = '{value}'"))


async def _lift_sqlite_triggers(session: AsyncSession) -> list[str]:
    """Drop the DELETE triggers, returning their definitions as SQLite keeps them."""
    # Python's sqlite3 opens its transaction at the first data change, not at DDL: open it
    # with a change of nothing, so that the DROP rolls back with the prune.
    await session.execute(text("UPDATE alembic_version SET version_num = version_num WHERE 0"))
    lifted = []
    for table in append_only.AUDIT_TABLES:
        name = append_only.sqlite_delete_trigger(table)
        definition = await session.scalar(
            text("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = :name"),
            {"name": name},
        )
        if definition:
            await session.execute(text(f'DROP TRIGGER "{name}"'))
            lifted.append(str(definition))
    return lifted
