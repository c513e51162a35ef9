"""Control-database migrations match the models and rerun as no-ops; URLs; an unreachable server."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect

from tenantry.bootstrap import Services, services
from tenantry.core.errors import ErrorKind, InvalidInput
from tenantry.core.settings import Settings
from tenantry.tenancy.manifests.schemas import Bundle
from tenantry.tenancy.registry import database
from tenantry.tenancy.registry.errors import ControlDatabaseUnavailable
from tenantry.tenancy.registry.service import RegistryService
from tenantry.tenancy.tables import metadata
from tests.integration.registry.support import example, snapshot

UNREACHABLE = "postgresql://postgres@127.0.0.1:1/x"


def _schema_diff(connection: Connection) -> list[Any]:
    return list(compare_metadata(MigrationContext.configure(connection), metadata))


def _revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


def _head() -> str | None:
    return ScriptDirectory.from_config(database.alembic_config()).get_current_head()


async def test_the_migrated_schema_equals_the_models(wired: Services) -> None:
    async with wired.engine.connect() as connection:
        assert await connection.run_sync(_schema_diff) == []
        tables = await connection.run_sync(_tables)
        revision = await connection.run_sync(_revision)
    assert tables == {*metadata.tables, "alembic_version"}
    head = _head()
    assert revision is not None and revision == head


async def test_migrating_again_is_a_no_op(wired: Services, settings: Settings) -> None:
    await wired.registry.apply(example())
    before = await snapshot(wired)
    await database.migrate(wired.engine)
    await database.migrate(wired.engine)
    async with services(settings) as reopened:  # a new process migrates on start too
        assert await snapshot(reopened) == before
        assert not (await reopened.registry.apply(example())).has_changes
    async with wired.engine.connect() as connection:
        assert await connection.run_sync(_schema_diff) == []
        assert await connection.run_sync(_revision) == _head()
    assert await snapshot(wired) == before


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("sqlite:///x", "sqlite+aiosqlite:///x"),
        ("sqlite:////abs/control.sqlite3", "sqlite+aiosqlite:////abs/control.sqlite3"),
        ("sqlite://", "sqlite+aiosqlite://"),
        ("sqlite+aiosqlite:///x", "sqlite+aiosqlite:///x"),
        ("postgresql://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgresql://u:p%40ss@h:5433/db", "postgresql+psycopg://u:p%40ss@h:5433/db"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgresql+asyncpg://u@h/db", "postgresql+psycopg://u@h/db"),
    ],
)
def test_async_url_picks_the_async_driver(given: str, expected: str) -> None:
    assert database.async_url(given) == expected


@pytest.mark.parametrize(
    "url", ["mysql://root@localhost/x", "mysql+pymysql://r@h/x", "oracle://h/x", "nonsense"]
)
def test_async_url_rejects_other_databases(url: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        database.async_url(url)
    assert (caught.value.kind, caught.value.code) == (ErrorKind.INVALID, "setting.invalid")


def test_creating_an_engine_for_mysql_is_rejected() -> None:
    with pytest.raises(InvalidInput):
        database.create_engine("mysql://root@localhost/x")


OPERATIONS: dict[str, Callable[[RegistryService], Awaitable[object]]] = {
    "ping": lambda registry: registry.ping(),
    "list": lambda registry: registry.list(),
    "get": lambda registry: registry.get("acme"),
    "plan": lambda registry: registry.plan(example()),
    "apply": lambda registry: registry.apply(Bundle()),
    "apply-example": lambda registry: registry.apply(example(), prune=True),
}


@pytest.mark.parametrize("operation", sorted(OPERATIONS))
async def test_an_unreachable_database_is_unavailable(operation: str) -> None:
    settings = Settings(database_url=UNREACHABLE)
    async with services(settings, migrate=False) as built:
        with pytest.raises(ControlDatabaseUnavailable) as caught:
            await OPERATIONS[operation](built.registry)
    error = caught.value
    assert (error.kind, error.code) == (ErrorKind.UNAVAILABLE, "control_db.unavailable")
    assert error.kind.transient
    assert "the control database is unavailable" in error.message


async def test_starting_against_an_unreachable_database_is_unavailable() -> None:
    with pytest.raises(ControlDatabaseUnavailable):
        async with services(Settings(database_url=UNREACHABLE)):
            pytest.fail("services must not start without their control database")
