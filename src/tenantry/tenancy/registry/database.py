"""The control database: engines and schema migrations (Alembic), SQLite or PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from tenantry.core import files
from tenantry.core.errors import InvalidInput

MIGRATIONS = Path(__file__).with_name("migrations")
_ASYNC_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+psycopg"}

SessionFactory = async_sessionmaker[AsyncSession]


def async_url(url: str) -> str:
    """Accept plain ``sqlite://`` and ``postgresql://`` URLs and pick the async drivers."""
    try:
        parsed = make_url(url)
    except Exception as error:
        raise InvalidInput(
            f"cannot parse the database URL: {error}", code="setting.invalid"
        ) from error
    backend = parsed.get_backend_name()
    if backend not in _ASYNC_DRIVERS:
        raise InvalidInput(
            f"unsupported control database {backend!r}: use sqlite or postgresql",
            code="setting.invalid",
        )
    return parsed.set(drivername=_ASYNC_DRIVERS[backend]).render_as_string(hide_password=False)


def create_engine(url: str) -> AsyncEngine:
    url = async_url(url)
    if url.startswith("sqlite"):
        database = make_url(url).database
        if database and database != ":memory:":
            # API-key digests, audit records and sealed secrets: owner-only, like the keys.
            files.private_file(Path(database))
        engine = create_async_engine(url, connect_args={"timeout": 30})
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    # A reconcile holds its lease on one connection and writes status on another: the pool
    # must allow twice the controller's concurrency (8) with room for the API.
    return create_async_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def session_factory(engine: AsyncEngine) -> SessionFactory:
    return async_sessionmaker(engine, expire_on_commit=False)


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


async def migrate(engine: AsyncEngine) -> None:
    """Bring the control database to the newest schema revision (idempotent)."""
    async with engine.begin() as connection:
        await connection.run_sync(_upgrade)


def _upgrade(connection: Connection) -> None:
    command.upgrade(alembic_config(connection), "head")
