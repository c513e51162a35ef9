"""Tenant data on PostgreSQL: the tenant environment's schema (mt-standard) or database
(st-dedicated), entered per transaction as the tenant environment's role.

Every transaction starts with one statement string, sent in one round trip::

    BEGIN; SET LOCAL ROLE "tr_{tenant}__{env}"; SET LOCAL search_path TO "t_{tenant}__{env}"

so the role and search path last exactly as long as the transaction, whatever the pooled
connection did before or does after. To make that one round trip (instead of the driver's own
``BEGIN`` plus ours), tenant-data engines run the driver in autocommit mode and the transaction is
begun by that statement; ``COMMIT``/``ROLLBACK`` go through SQLAlchemy as usual (psycopg sends them
whenever the server is inside a transaction). Names come from ``core/names.py`` through the
placement and are quoted with ``psycopg.sql.Identifier``.

Engines: one shared pooled engine for the shared database (the caller's, made with
:func:`tenant_data_engine`); one small engine per dedicated database, kept in a bounded LRU.
Connections start with an empty ``search_path`` and every engine is guarded
(:func:`tenantry.runtime.data.guard`). The login role must be allowed to ``SET ROLE`` to each
tenant role (a superuser, or membership with the SET option).

A statement refused for lack of privilege (e.g. another tenant's schema named explicitly) raises
:class:`~tenantry.runtime.data.TenantDataForbidden`; other driver errors are left as SQLAlchemy's.
"""

from __future__ import annotations

import weakref
from collections import OrderedDict
from types import TracebackType
from typing import Any, Final, cast

import psycopg
from psycopg import sql
from sqlalchemy import Engine, event
from sqlalchemy.engine import URL, ExceptionContext, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from tenantry.core import ids, names
from tenantry.core.errors import InvalidInput
from tenantry.runtime.data import (
    SCOPE_KEY,
    NotProvisioned,
    TenantDataForbidden,
    TenantDataUnavailable,
    guard,
)
from tenantry.tenancy.isolation.placement import Placement, Relational

DATABASE_ENGINES: Final = 16
_ENTER = "BEGIN; SET LOCAL ROLE {}; SET LOCAL search_path TO {}"
_PREPARED: weakref.WeakSet[Engine] = weakref.WeakSet()  # engines made by tenant_data_engine


def tenant_data_engine(
    url: str | URL, *, pool_size: int = 10, max_overflow: int = 10, **options: Any
) -> AsyncEngine:
    """A pooled, guarded engine for tenant data on ``url`` (any PostgreSQL URL; psycopg is used).

    Connections are in driver autocommit mode (see the module docstring) and start with an
    empty ``search_path``, so a connection used outside a tenant transaction resolves no table.
    """
    target = make_url(url).set(drivername="postgresql+psycopg")
    engine = create_async_engine(
        target,
        pool_size=pool_size,
        max_overflow=max_overflow,
        isolation_level="AUTOCOMMIT",
        connect_args={"options": "-c search_path="},
        **options,
    )
    _prepare(engine)
    _PREPARED.add(engine.sync_engine)
    return engine


def _prepare(engine: AsyncEngine) -> None:
    guard(engine)
    if not event.contains(engine.sync_engine, "handle_error", _translate):
        event.listen(engine.sync_engine, "handle_error", _translate)


def _translate(context: ExceptionContext) -> None:
    error = context.original_exception
    cause = context.sqlalchemy_exception or error
    info = context.connection.info if context.connection is not None else {}
    where = "/".join(info.get(SCOPE_KEY, ("?", "?")))
    if isinstance(error, psycopg.errors.InsufficientPrivilege):
        raise TenantDataForbidden(
            f"tenant environment {where} may not do that: {_first_line(error)}"
        ) from cause
    connecting = context.connection is None and isinstance(error, psycopg.OperationalError)
    database = context.engine.url.database if context.engine is not None else None
    if connecting and f'database "{database}" does not exist' in str(error):
        raise NotProvisioned(f"the tenant database {database!r} does not exist") from cause
    if connecting or context.is_disconnect:
        raise TenantDataUnavailable(f"PostgreSQL is unavailable: {_first_line(error)}") from cause


def _first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]


class PostgresTenantDataSource:
    """Binds tenant environments to their relational space on one PostgreSQL server.

    ``engine`` is the shared database's engine (from :func:`tenant_data_engine`; another psycopg
    engine works too, at the cost of switching autocommit on every checkout). Dedicated databases
    are reached on the same server with the same credentials.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        max_databases: int = DATABASE_ENGINES,
        database_pool_size: int = 2,
        database_max_overflow: int = 2,
    ) -> None:
        if engine.dialect.name != "postgresql" or engine.dialect.driver != "psycopg":
            raise InvalidInput(
                "tenant data on PostgreSQL needs a postgresql+psycopg async engine",
                code="setting.invalid",
            )
        _prepare(engine)
        self._shared = (
            engine
            if engine.sync_engine in _PREPARED
            else engine.execution_options(isolation_level="AUTOCOMMIT")
        )
        self._limit = max_databases
        self._pool = {"pool_size": database_pool_size, "max_overflow": database_max_overflow}
        self._databases: OrderedDict[str, AsyncEngine] = OrderedDict()

    def bind(self, placement: Placement) -> PostgresTenantData:
        """The relational space of ``placement``'s tenant environment."""
        tenant, env = ids.tenant_id(placement.tenant_id), ids.env_id(placement.env_id)
        relational = placement.relational
        if relational.mode is Relational.EXTERNAL:
            raise InvalidInput(
                f"tenant {tenant!r} is st-byoc: its database is the customer's",
                code="placement.external",
            )
        shared = relational.mode is Relational.SHARED_SCHEMA
        expected = names.sql_schema(tenant, env) if shared else names.sql_database(tenant, env)
        if (relational.name, relational.role) != (expected, names.sql_role(tenant, env)):
            raise InvalidInput(
                f"placement of {tenant}/{env} names {relational.name!r}, not {expected!r}",
                code="placement.mismatch",
            )
        return PostgresTenantData(
            self, tenant, env, database=None if shared else expected, schema=expected
        )

    @property
    def shared(self) -> AsyncEngine:
        """The shared database's engine, in driver autocommit mode."""
        return self._shared

    async def engine(self, database: str | None) -> AsyncEngine:
        """The shared engine (``None``) or a dedicated database's engine."""
        if database is None:
            return self._shared
        found = self._databases.pop(database, None)
        if found is None:
            url = self._shared.url.set(database=database)
            found = tenant_data_engine(url, **self._pool)
        self._databases[database] = found  # most recently used last
        while len(self._databases) > self._limit:
            _, evicted = self._databases.popitem(last=False)
            await evicted.dispose()  # connections in use finish first, then are closed
        return found

    async def close(self) -> None:
        """Dispose of the dedicated databases' engines (the shared one is the caller's)."""
        while self._databases:
            _, engine = self._databases.popitem()
            await engine.dispose()


class PostgresTenantData:
    """One tenant environment's schema or database; see :mod:`tenantry.runtime.data`."""

    dialect = "postgresql"

    def __init__(
        self,
        source: PostgresTenantDataSource,
        tenant_id: str,
        env_id: str,
        *,
        database: str | None,
        schema: str,
    ) -> None:
        self._source = source
        self._tenant, self._env, self._database = tenant_id, env_id, database
        path = sql.Identifier(schema if database is None else "public")
        role = sql.Identifier(names.sql_role(tenant_id, env_id))
        self._enter = sql.SQL(_ENTER).format(role, path).as_string().encode()

    @property
    def tenant_id(self) -> str:
        return self._tenant

    @property
    def env_id(self) -> str:
        return self._env

    def transaction(self) -> _Transaction:
        return _Transaction(self)

    async def _engine(self) -> AsyncEngine:
        return await self._source.engine(self._database)

    async def _begin(self, conn: AsyncConnection) -> None:
        # Straight to the driver: a fixed statement of ours needs no compiling, result object or
        # events, whose cost would be a visible share of a one-query transaction.
        sync = conn.sync_connection
        if sync is None:  # unreachable: the connection is started by `engine.connect()`
            raise TenantDataUnavailable("the tenant-data connection is not started")
        driver = cast(psycopg.AsyncConnection[Any], sync.connection.driver_connection)
        try:
            await driver.execute(self._enter, prepare=False)
        except psycopg.errors.InvalidParameterValue as error:  # the role does not exist
            raise NotProvisioned(
                f"tenant environment {self._tenant}/{self._env} has no role: {_first_line(error)}"
            ) from error
        except psycopg.errors.InsufficientPrivilege as error:
            raise TenantDataForbidden(
                f"the login role may not act as {self._tenant}/{self._env}'s role "
                f"(grant it membership): {_first_line(error)}"
            ) from error
        except psycopg.OperationalError as error:
            await conn.invalidate()
            message = f"PostgreSQL is unavailable: {_first_line(error)}"
            raise TenantDataUnavailable(message) from error


class _Transaction:
    """``async with engine.connect() as conn, conn.begin():`` plus the scope mark and the
    entering statement, spelled out: a generator-based context manager costs a measurable share
    of a one-query transaction."""

    __slots__ = ("_connecting", "_data", "_info", "_transaction")

    def __init__(self, data: PostgresTenantData) -> None:
        self._data = data

    async def __aenter__(self) -> AsyncConnection:
        data = self._data
        engine = data._source.shared if data._database is None else await data._engine()
        self._connecting = engine.connect()
        conn = await self._connecting.__aenter__()
        self._info = conn.info  # held: an invalidated connection's info means I/O to read
        self._info[SCOPE_KEY] = (data.tenant_id, data.env_id)
        try:
            self._transaction = conn.begin()
            await self._transaction.__aenter__()
            try:
                await data._begin(conn)
            except BaseException as error:
                await self._transaction.__aexit__(type(error), error, error.__traceback__)
                raise
        except BaseException as error:
            self._info.pop(SCOPE_KEY, None)
            await self._connecting.__aexit__(type(error), error, error.__traceback__)
            raise
        return conn

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        try:
            await self._transaction.__aexit__(kind, error, trace)
        finally:
            self._info.pop(SCOPE_KEY, None)
            await self._connecting.__aexit__(kind, error, trace)
