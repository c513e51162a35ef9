"""The only place concrete backends are chosen from settings (DESIGN.md section 7)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from tenantry.backends.fs.objects import DirectoryObjectProvisioner
from tenantry.backends.keys.keyring import KeyProvisioner, Keyring
from tenantry.backends.nats.streams import JetStreamProvisioner
from tenantry.backends.postgres.relational import PostgresRelationalProvisioner
from tenantry.backends.s3.objects import S3ObjectProvisioner, S3Settings
from tenantry.backends.sqlite.relational import SqliteRelationalProvisioner
from tenantry.core.clock import Clock, utc_now
from tenantry.core.settings import Settings
from tenantry.tenancy.controller.resources import Provisioner
from tenantry.tenancy.controller.service import Controller
from tenantry.tenancy.isolation.strategies import Layout
from tenantry.tenancy.registry import database
from tenantry.tenancy.registry.errors import translated
from tenantry.tenancy.registry.service import RegistryService
from tenantry.tenancy.schema.service import Migrator


@dataclass(frozen=True, slots=True)
class Services:
    """Everything adapters (CLI, API, worker) call into, wired for one process."""

    settings: Settings
    engine: AsyncEngine
    registry: RegistryService
    controller: Controller
    migrator: Migrator


@asynccontextmanager
async def services(
    settings: Settings | None = None, *, clock: Clock = utc_now, migrate: bool = True
) -> AsyncIterator[Services]:
    """Open the control database (migrated to the newest schema) and build the services."""
    settings = settings or Settings()
    engine = database.create_engine(settings.control_database_url())
    try:
        if migrate:
            async with translated():
                await database.migrate(engine)
        sessions = database.session_factory(engine)
        migrator = Migrator(
            engine,
            postgres_url=settings.tenant_postgres_url(),
            data_root=settings.data_dir.resolve(),
            clock=clock,
        )
        layout = Layout(subject_prefix=settings.subject_prefix)
        controller = Controller(
            engine, provisioners(settings), layout=layout, migrator=migrator, clock=clock
        )
        registry = RegistryService(sessions, clock=clock)
        try:
            yield Services(settings, engine, registry, controller, migrator)
        finally:
            await controller.close()
            await migrator.close()
    finally:
        await engine.dispose()


def provisioners(settings: Settings) -> list[Provisioner]:
    """Key, relational and object provisioners for the configured backends."""
    root = settings.data_dir.resolve()
    postgres = settings.tenant_postgres_url()
    relational: Provisioner = (
        PostgresRelationalProvisioner(_libpq(postgres))
        if postgres
        else SqliteRelationalProvisioner(root)
    )
    found: list[Provisioner] = [KeyProvisioner(Keyring(root)), relational, _objects(settings)]
    if settings.nats_url:
        layout = Layout(subject_prefix=settings.subject_prefix)
        found.append(
            JetStreamProvisioner(
                settings.nats_url,
                shared_stream=layout.shared_stream,
                subject_prefix=settings.subject_prefix,
            )
        )
    return found


def _objects(settings: Settings) -> Provisioner:
    if settings.objects == "local":
        return DirectoryObjectProvisioner(settings.data_dir.resolve() / "objects")
    secret = settings.s3_secret_key.get_secret_value() if settings.s3_secret_key else None
    return S3ObjectProvisioner(
        S3Settings(
            endpoint_url=settings.s3_endpoint_url,
            region=settings.s3_region,
            access_key=settings.s3_access_key,
            secret_key=secret,
            shared_bucket=settings.s3_shared_bucket,
        )
    )


def _libpq(url: str) -> str:
    """A SQLAlchemy-style URL as psycopg wants it (``postgresql://``, no driver suffix)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
