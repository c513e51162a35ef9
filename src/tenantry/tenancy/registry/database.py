"""The control database: engines and schema migrations (Alembic), SQLite or PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import NullPool

from tenantry.core import files
from tenantry.core.errors import InvalidInput
from tenantry.tenancy.audit import append_only

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


def alembic_config(
    connection: Connection | None = None, *, serving_role: str | None = None
) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    config.attributes["serving_role"] = serving_role
    return config


async def migrate(engine: AsyncEngine, *, owner_url: str | None = None) -> None:
    """Bring the control database to the newest schema revision (idempotent).

    With ``owner_url`` (PostgreSQL), the owner role migrates and grants ``engine``'s role what
    serving needs, the audit tables INSERT and SELECT only; without it ``engine``'s role owns.
    """
    if not owner_url:
        async with engine.begin() as connection:
            await connection.run_sync(_upgrade, None)
        return
    serving_role = serving_role_of(engine.url, owner_url)
    owner = owner_engine(owner_url)
    try:
        async with owner.begin() as connection:
            await connection.run_sync(_upgrade, serving_role)
    finally:
        await owner.dispose()


def owner_engine(url: str) -> AsyncEngine:
    """An engine as the tables' owner, for migrations and pruning: short-lived, so unpooled."""
    if make_url(async_url(url)).get_backend_name() == "sqlite":
        return create_engine(url)
    return create_async_engine(async_url(url), poolclass=NullPool)


def serving_role_of(serving: URL, owner_url: str) -> str | None:
    """The role to grant serving rights to, or None when it is the owner itself. The two URLs
    must name one PostgreSQL database: an owner elsewhere would protect nothing."""
    owner = make_url(async_url(owner_url))
    if serving.get_backend_name() != "postgresql" or owner.get_backend_name() != "postgresql":
        raise InvalidInput(
            "TENANTRY_DATABASE_OWNER_URL needs PostgreSQL for both URLs: SQLite has no roles "
            "(its audit tables are guarded by triggers alone)",
            code="setting.invalid",
        )
    if _place(serving) != _place(owner):
        raise InvalidInput(
            "TENANTRY_DATABASE_OWNER_URL must name the same server and database as "
            "TENANTRY_DATABASE_URL (only the user may differ)",
            code="setting.invalid",
        )
    if not serving.username:
        raise InvalidInput(
            "TENANTRY_DATABASE_URL must name its user when an owner URL is set: that user is "
            "granted the serving rights",
            code="setting.invalid",
        )
    return None if serving.username == owner.username else serving.username


def _place(url: URL) -> tuple[str | None, int, str | None]:
    return url.host or "localhost", url.port or 5432, url.database


def _upgrade(connection: Connection, serving_role: str | None) -> None:
    command.upgrade(alembic_config(connection, serving_role=serving_role), "head")
    # Again after every run: a role configured later, and audit tables a later revision made
    # (or rebuilt: SQLite's batch ALTER copies a table without its triggers), are covered too.
    append_only.install(connection, serving_role=serving_role)
