"""Shared fixtures: the control database on SQLite and on the real PostgreSQL.

PostgreSQL tests get one fresh database per test session (dropped at the end) and empty tables
per test. Point ``TENANTRY_TEST_POSTGRES`` at another server's admin URL to use it instead.
"""

from __future__ import annotations

import contextlib
import os
import socket
import sys
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import psycopg
import pytest
from moto.server import ThreadedMotoServer
from psycopg import sql

from tenantry.bootstrap import Services, services
from tenantry.core.settings import Settings

ADMIN_URL = os.environ.get(
    "TENANTRY_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres"
)
NATS_URL = os.environ.get("TENANTRY_TEST_NATS", "nats://127.0.0.1:4222")
REPO = Path(__file__).resolve().parents[1]
SHARED_SPEC_EXAMPLES = REPO.parent / "shared" / "spec" / "examples"
SPEC_EXAMPLES = REPO / "examples" / "spec"  # a copy; checked against shared/ when beside it
EXAMPLE_BUNDLE = REPO / "examples" / "bundle"
_TABLES = (
    "webhook_cursor",
    "webhook_fanned",
    "webhook_deliveries",
    "webhook_secrets",
    "webhook_endpoints",
    "egress_sends",
    "event_outbox",
    "event_sequences",  # events (issue 13)
    "event_marks",  # events (issue 13)
    "fence_acks",
    "fence_processes",
    "fences",
    "jobs",
    "write_holds",
    "usage_meters",
    "usage_counters",
    "api_keys",
    "audit_records",
    "audit_chain",
    "audit_checkpoints",
    "issued_tokens",
    "token_revocations",  # not its counter: a number is never given twice
    "idempotency_records",
    "secret_versions",
    "tenant_schema_revisions",
    "channels",
    "teams",
    "environments",
    "flows",
    "applied_manifests",
    "plans",
    "policies",  # policies (issue 13)
    "tenants",
)


def _database_url(admin_url: str, name: str) -> str:
    return admin_url.rsplit("/", 1)[0] + "/" + name


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session."""
    name = f"tenantry_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as error:
        pytest.fail(f"PostgreSQL is not reachable at {ADMIN_URL} (run `make services`): {error}")
    with admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    yield _database_url(ADMIN_URL, name)
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def _truncate(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as connection:
        exists = connection.execute("SELECT to_regclass('public.tenants')").fetchone()
        if exists and exists[0]:
            # The audit tables' TRUNCATE trigger refuses everyone; a superuser's harness skips it.
            connection.execute("SET session_replication_role = replica")
            tables = sql.SQL(", ").join(sql.Identifier(t) for t in _TABLES)
            connection.execute(sql.SQL("TRUNCATE {} CASCADE").format(tables))
        _drop_tenant_resources(connection)


def _drop_tenant_resources(connection: psycopg.Connection[tuple[object, ...]]) -> None:
    """Tenant schemas, databases and roles the controller made (roles and databases are
    cluster-wide, so they outlive the test database)."""
    queries = {
        "DROP SCHEMA IF EXISTS {} CASCADE": "SELECT nspname FROM pg_namespace "
        r"WHERE nspname LIKE 't\_%\_\_%'",
        "DROP DATABASE IF EXISTS {} WITH (FORCE)": "SELECT datname FROM pg_database "
        r"WHERE datname LIKE 'tenant\_%\_\_%'",
        "DROP ROLE IF EXISTS {}": r"SELECT rolname FROM pg_roles WHERE rolname LIKE 'tr\_%\_\_%'",
    }
    for drop, find in queries.items():
        for (name,) in connection.execute(find).fetchall():
            # A role still owning objects in a database that is not ours is left alone, and so
            # is one that another test session is dropping at the same moment.
            with contextlib.suppress(
                psycopg.errors.DependentObjectsStillExist, psycopg.errors.InternalError_
            ):
                connection.execute(sql.SQL(drop).format(sql.Identifier(str(name))))


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """A moto S3 server on a free loopback port, for this test session."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The control database URL: a new SQLite file, or the session's emptied PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'control.sqlite3'}"
    return empty(request.getfixturevalue("postgres_url"))


def empty(url: str) -> str:
    """The session's PostgreSQL database with no tenants and no tenant resources."""
    _truncate(url)
    return url


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=database_url, data_dir=tmp_path / "data", admin_token="admin-secret"
    )


@pytest.fixture
async def wired(settings: Settings) -> AsyncIterator[Services]:
    async with services(settings) as built:
        yield built


_LINGER_SECONDS = 10.0
_EXIT_STATUS = pytest.StashKey[int]()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    session.config.stash[_EXIT_STATUS] = int(exitstatus)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    """Name the threads a test left running, and exit even so.

    A connection left open on a non-daemon thread (aiosqlite runs one per connection) would
    keep the interpreter from exiting after the summary, until CI's time runs out.
    """
    left = [t for t in threading.enumerate() if _lingers(t)]
    for thread in left:
        thread.join(_LINGER_SECONDS / len(left))
    still = [t.name for t in left if t.is_alive()]
    if still:
        sys.stderr.write(f"\nthreads a test left running, ended by exiting: {still}\n")
        sys.stderr.flush()
        os._exit(config.stash.get(_EXIT_STATUS, 1))


def _lingers(thread: threading.Thread) -> bool:
    return thread is not threading.main_thread() and not thread.daemon and thread.is_alive()
