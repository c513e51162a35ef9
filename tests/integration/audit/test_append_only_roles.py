"""PostgreSQL with two login roles: the owner migrates, the serving role may only INSERT and
SELECT on the audit tables, and neither a plain UPDATE/DELETE by the owner nor a ``SET ROLE``
by the serving login gets around that.

Roles are cluster-wide: this module makes its own database and roles, named for this run, and
drops them at the end.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from tenantry.backends.postgres import control_roles
from tenantry.backends.postgres.control_roles import ensure_roles
from tenantry.bootstrap import Services, services
from tenantry.core.errors import InvalidInput
from tenantry.core.settings import Settings
from tenantry.tenancy.audit.pruning_access import allow_prune, owner_engine
from tenantry.tenancy.audit.schemas import AuditEntry, Outcome
from tenantry.tenancy.registry import database
from tests.conftest import ADMIN_URL

pytestmark = pytest.mark.postgres

Connection = psycopg.Connection[tuple[object, ...]]


@dataclass(frozen=True)
class Cluster:
    admin: str  # a superuser, in the module's database
    owner: str
    serving: str
    owner_role: str

    def settings(self, data_dir: Path) -> Settings:
        return Settings(
            database_url=self.serving,
            database_owner_url=self.owner,
            tenant_database_url=self.admin,  # tenant data is provisioned by an admin
            data_dir=data_dir,
        )


def _as(url: str, *, user: str | None = None, database: str | None = None) -> str:
    parsed = make_url(url)
    parsed = parsed.set(username=user or parsed.username, database=database or parsed.database)
    return parsed.render_as_string(hide_password=False)


@pytest.fixture(scope="module")
async def cluster() -> AsyncIterator[Cluster]:
    suffix = uuid.uuid4().hex[:10]
    name, owner, serving = (f"tenantry_{kind}_{suffix}" for kind in ("roles", "owner", "app"))
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        ensure_roles(ADMIN_URL, database=name, owner=owner, serving=serving)
        # Again, as the documented command: idempotent.
        control_roles.main([ADMIN_URL, "--database", name, "--owner", owner, "--serving", serving])
        made = Cluster(
            admin=_as(ADMIN_URL, database=name),
            owner=_as(ADMIN_URL, user=owner, database=name),
            serving=_as(ADMIN_URL, user=serving, database=name),
            owner_role=owner,
        )
        serving_engine = database.create_engine(made.serving)
        try:
            for _ in range(2):  # idempotent, grants included
                await database.migrate(serving_engine, owner_url=made.owner)
        finally:
            await serving_engine.dispose()
        yield made
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
            for role in (serving, owner):
                admin.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


@pytest.fixture
def serving(cluster: Cluster) -> Iterator[Connection]:
    with psycopg.connect(cluster.serving, autocommit=True) as connection:
        yield connection


@pytest.fixture
def owner(cluster: Cluster) -> Iterator[Connection]:
    with psycopg.connect(cluster.owner, autocommit=True) as connection:
        yield connection


def _insert(connection: Connection, action: str) -> int:
    row = connection.execute(
        "INSERT INTO audit_records (ts, actor, action, outcome, details)"
        " VALUES (now(), 'alice', %s, 'succeeded', '{}') RETURNING id",
        (action,),
    ).fetchone()
    assert row is not None
    return int(str(row[0]))


def _count(connection: Connection, action: str) -> int:
    row = connection.execute(
        "SELECT count(*) FROM audit_records WHERE action = %s", (action,)
    ).fetchone()
    assert row is not None
    return int(str(row[0]))


def test_the_owner_owns_the_control_tables(cluster: Cluster, owner: Connection) -> None:
    owners = owner.execute(
        "SELECT DISTINCT pg_get_userbyid(relowner) FROM pg_class"
        " WHERE relnamespace = 'public'::regnamespace AND relkind = 'r'"
    ).fetchall()
    assert owners == [(cluster.owner_role,)]


def test_the_serving_role_inserts_and_reads(serving: Connection) -> None:
    record = _insert(serving, "serving.insert")
    assert serving.execute("SELECT id FROM audit_records WHERE id = %s", (record,)).fetchone()


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_records SET actor = 'mallory'",
        "DELETE FROM audit_records",
        "TRUNCATE audit_records",
        "UPDATE alembic_version SET version_num = '0001'",
    ],
)
def test_the_serving_role_may_not_change_or_remove(serving: Connection, statement: str) -> None:
    _insert(serving, "kept")
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="permission denied"):
        serving.execute(statement)
    assert _count(serving, "kept") >= 1


def test_every_audit_table_is_insert_and_select_only(serving: Connection) -> None:
    rows = serving.execute(
        "SELECT table_name, string_agg(privilege_type, ',' ORDER BY privilege_type)"
        " FROM information_schema.table_privileges WHERE grantee = current_user"
        " AND table_name IN ('audit_records', 'audit_chain', 'audit_checkpoints')"
        " GROUP BY table_name"
    ).fetchall()
    assert ("audit_records", "INSERT,SELECT") in rows
    assert {privileges for _, privileges in rows} == {"INSERT,SELECT"}


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_records SET actor = 'mallory'",
        "DELETE FROM audit_records",
        "TRUNCATE audit_records",
    ],
)
def test_even_the_owner_hits_the_trigger(owner: Connection, statement: str) -> None:
    _insert(owner, "kept")
    with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
        owner.execute(statement)
    assert _count(owner, "kept") >= 1


@pytest.mark.parametrize(
    "escalation", ["SET ROLE {}", "SET SESSION AUTHORIZATION {}", "SET LOCAL ROLE {}"]
)
def test_the_serving_login_cannot_become_the_owner(
    cluster: Cluster, serving: Connection, escalation: str
) -> None:
    with pytest.raises(psycopg.errors.InsufficientPrivilege), serving.transaction():
        serving.execute(sql.SQL(escalation).format(sql.Identifier(cluster.owner_role)))
    serving.execute("RESET ROLE")
    serving.execute("SET tenantry.audit_prune = 'on'")  # anyone may set it; it lifts nothing
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        serving.execute("DELETE FROM audit_records")


async def test_the_prune_path_works_for_the_owner_only(cluster: Cluster, tmp_path: Path) -> None:
    settings = cluster.settings(tmp_path)
    with psycopg.connect(cluster.serving, autocommit=True) as serving:
        _insert(serving, "pruned")
        _insert(serving, "outlives.prune")
    engine = owner_engine(settings)
    try:
        async with (
            database.session_factory(engine)() as session,
            session.begin(),
            allow_prune(session),
        ):
            await session.execute(text("DELETE FROM audit_records WHERE action = 'pruned'"))
    finally:
        await engine.dispose()
    as_serving = database.create_engine(cluster.serving)
    try:
        with pytest.raises(DBAPIError, match="permission denied"):
            async with (
                database.session_factory(as_serving)() as session,
                session.begin(),
                allow_prune(session),
            ):
                await session.execute(text("DELETE FROM audit_records"))
    finally:
        await as_serving.dispose()
    with psycopg.connect(cluster.serving) as serving:
        assert (_count(serving, "pruned"), _count(serving, "outlives.prune")) == (0, 1)


def test_a_superuser_harness_truncates_only_past_the_triggers(cluster: Cluster) -> None:
    with psycopg.connect(cluster.admin, autocommit=True) as admin:
        _insert(admin, "kept")
        with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
            admin.execute("TRUNCATE audit_records")
        admin.execute("SET session_replication_role = replica")  # what tests/conftest.py does
        admin.execute("TRUNCATE audit_records")
        assert _count(admin, "kept") == 0


async def test_the_services_serve_as_the_serving_role(cluster: Cluster, tmp_path: Path) -> None:
    """Migrating as the owner on start, then appending and reading records as the server."""
    wired: Services
    async with services(cluster.settings(tmp_path)) as wired:
        await wired.audit.record([AuditEntry("alice", "served", "acme", Outcome.SUCCEEDED)])
        records = await wired.access.audit_records(tenant="acme", limit=10)
        async with wired.engine.connect() as connection:
            role = (await connection.execute(text("SELECT current_user"))).scalar_one()
    assert [r.action for r in records if r.action == "served"] == ["served"]
    assert role == make_url(cluster.serving).username


def test_an_owner_of_another_database_is_refused(cluster: Cluster) -> None:
    engine = database.create_engine(cluster.serving)
    elsewhere = _as(cluster.owner, database="postgres")
    with pytest.raises(InvalidInput, match="same server and database") as refused:
        database.serving_role_of(engine.url, elsewhere)
    assert refused.value.code == "setting.invalid"


def test_a_serving_superuser_is_refused(cluster: Cluster) -> None:
    name = make_url(cluster.admin).database or ""
    superuser = make_url(ADMIN_URL).username or "postgres"
    with pytest.raises(InvalidInput, match="superuser"):
        ensure_roles(ADMIN_URL, database=name, owner=cluster.owner_role, serving=superuser)
