"""Tenant data on PostgreSQL: a schema owned by the tenant environment's role (mt-standard), or
a database owned by it (st-dedicated). Names come from the placement and are always quoted."""

from __future__ import annotations

from contextlib import suppress

import psycopg
from psycopg import sql

from tenantry.backends.postgres.pools import Pool
from tenantry.core import names
from tenantry.core.errors import InvalidInput
from tenantry.tenancy.controller.resources import Kind, Resource
from tenantry.tenancy.isolation.placement import Placement, Relational

_EXISTS = {  # the schema (or database) and its role, in one round trip
    Relational.SHARED_SCHEMA: (
        "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = %s),"
        " EXISTS (SELECT 1 FROM pg_roles WHERE rolname = %s)"
    ),
    Relational.DEDICATED_DATABASE: (
        "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = %s),"
        " EXISTS (SELECT 1 FROM pg_roles WHERE rolname = %s)"
    ),
}


class PostgresRelationalProvisioner:
    kind = Kind.RELATIONAL

    def __init__(self, dsn: str, *, connections: int = 4) -> None:
        self._pool = Pool(dsn, size=connections)

    def wanted(self, placement: Placement) -> Resource:
        relational = placement.relational
        return Resource(
            Kind.RELATIONAL, relational.name, placement.tenant_id, placement.env_id, relational.mode
        )

    async def exists(self, resource: Resource) -> bool:
        async with self._pool.connection() as db:
            query = _EXISTS[_mode(resource)]
            found = await (await db.execute(query, (resource.name, _role(resource)))).fetchone()
        return found == (True, True)

    async def ensure(self, resource: Resource) -> None:
        mode, role = _mode(resource), sql.Identifier(_role(resource))
        target = sql.Identifier(resource.name)
        async with self._pool.connection() as db:
            if mode is Relational.SHARED_SCHEMA:  # one round trip, one implicit transaction
                await db.execute(
                    sql.SQL("{}; CREATE SCHEMA IF NOT EXISTS {} AUTHORIZATION {}").format(
                        _create_role(role), target, role
                    )
                )
                return
            await db.execute(_create_role(role))
            with suppress(psycopg.errors.DuplicateDatabase):  # CREATE DATABASE: no transaction
                await db.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(target, role))

    async def retire(self, resource: Resource) -> None:
        mode, role = _mode(resource), sql.Identifier(_role(resource))
        target = sql.Identifier(resource.name)
        drop = (
            "DROP SCHEMA IF EXISTS {} CASCADE"
            if mode is Relational.SHARED_SCHEMA
            else "DROP DATABASE IF EXISTS {} WITH (FORCE)"
        )
        async with self._pool.connection() as db:
            await db.execute(sql.SQL(drop).format(target))
            await db.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(role))

    async def close(self) -> None:
        await self._pool.close()


def _create_role(role: sql.Identifier) -> sql.Composed:
    """Create the role unless it exists (an earlier attempt's role is adopted; a concurrent
    creator elsewhere on the cluster shows as a unique violation)."""
    return sql.SQL(
        "DO $$ BEGIN CREATE ROLE {} NOLOGIN; "
        "EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$"
    ).format(role)


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
