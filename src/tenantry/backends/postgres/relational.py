"""Tenant data on PostgreSQL: a schema owned by the tenant environment's role (mt-standard), or
a database owned by it (st-dedicated). Names come from the placement and are always quoted."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

import psycopg
from psycopg import sql

from tenantry.backends.postgres.errors import translated
from tenantry.core import names
from tenantry.core.errors import InvalidInput
from tenantry.tenancy.controller.resources import Kind, Resource
from tenantry.tenancy.isolation.placement import Placement, Relational

_EXISTS = {
    Relational.SHARED_SCHEMA: "SELECT 1 FROM pg_namespace WHERE nspname = %s",
    Relational.DEDICATED_DATABASE: "SELECT 1 FROM pg_database WHERE datname = %s",
}


class PostgresRelationalProvisioner:
    kind = Kind.RELATIONAL

    def __init__(self, dsn: str) -> None:
        self._dsn = dsn

    def wanted(self, placement: Placement) -> Resource:
        relational = placement.relational
        return Resource(
            Kind.RELATIONAL, relational.name, placement.tenant_id, placement.env_id, relational.mode
        )

    @asynccontextmanager
    async def _admin(self) -> AsyncIterator[psycopg.AsyncConnection[tuple[object, ...]]]:
        async with (
            translated(),
            await psycopg.AsyncConnection.connect(
                self._dsn, autocommit=True, connect_timeout=5
            ) as connection,
        ):
            yield connection

    async def exists(self, resource: Resource) -> bool:
        mode = _mode(resource)
        async with self._admin() as db:
            found = await (await db.execute(_EXISTS[mode], (resource.name,))).fetchone()
            role = await (
                await db.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (_role(resource),))
            ).fetchone()
        return found is not None and role is not None

    async def ensure(self, resource: Resource) -> None:
        mode, role = _mode(resource), sql.Identifier(_role(resource))
        target = sql.Identifier(resource.name)
        async with self._admin() as db:
            with suppress(psycopg.errors.DuplicateObject):  # adopt an earlier attempt's role
                await db.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(role))
            if mode is Relational.SHARED_SCHEMA:
                await db.execute(
                    sql.SQL("CREATE SCHEMA IF NOT EXISTS {} AUTHORIZATION {}").format(target, role)
                )
                return
            with suppress(psycopg.errors.DuplicateDatabase):
                await db.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(target, role))

    async def retire(self, resource: Resource) -> None:
        mode, role = _mode(resource), sql.Identifier(_role(resource))
        target = sql.Identifier(resource.name)
        drop = (
            "DROP SCHEMA IF EXISTS {} CASCADE"
            if mode is Relational.SHARED_SCHEMA
            else "DROP DATABASE IF EXISTS {} WITH (FORCE)"
        )
        async with self._admin() as db:
            await db.execute(sql.SQL(drop).format(target))
            await db.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(role))


def _mode(resource: Resource) -> Relational:
    mode = Relational(resource.variant)
    if mode is Relational.EXTERNAL:
        raise InvalidInput(
            f"tenant {resource.tenant_id!r} is st-byoc: its database is the customer's DSN in "
            f"secret {resource.name!r}, which Tenantry does not create",
            code="placement.external",
        )
    return mode


def _role(resource: Resource) -> str:
    if resource.env_id is None:
        raise InvalidInput("a relational resource belongs to an environment")
    return names.sql_role(resource.tenant_id, resource.env_id)
