"""The control database: migrations match the models; unreachable servers are reported."""

from __future__ import annotations

from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection

from tenantry.bootstrap import Services, services
from tenantry.core.errors import ErrorKind, InvalidInput
from tenantry.core.settings import Settings
from tenantry.tenancy.manifests.schemas import Bundle
from tenantry.tenancy.registry import database
from tenantry.tenancy.registry.errors import ControlDatabaseUnavailable
from tenantry.tenancy.registry.models import Base


def _diff(connection: Connection) -> list[Any]:
    return list(compare_metadata(MigrationContext.configure(connection), Base.metadata))


async def test_migrations_match_the_models_and_rerun_cleanly(wired: Services) -> None:
    await database.migrate(wired.engine)
    async with wired.engine.connect() as connection:
        assert await connection.run_sync(_diff) == []


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("sqlite:///x.db", "sqlite+aiosqlite:///x.db"),
        ("postgresql://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
    ],
)
def test_async_urls(given: str, expected: str) -> None:
    assert database.async_url(given) == expected


@pytest.mark.parametrize("url", ["mysql://root@localhost/x", "not a url", "redis://x"])
def test_unsupported_urls(url: str) -> None:
    with pytest.raises(InvalidInput):
        database.async_url(url)


async def test_unreachable_database_is_unavailable() -> None:
    settings = Settings(database_url="postgresql://postgres@127.0.0.1:1/x")
    async with services(settings, migrate=False) as built:
        for call in (built.registry.ping(), built.registry.list(), built.registry.apply(Bundle())):
            with pytest.raises(ControlDatabaseUnavailable) as caught:
                await call
            assert caught.value.kind is ErrorKind.UNAVAILABLE
    with pytest.raises(ControlDatabaseUnavailable):
        async with services(settings):
            pass
