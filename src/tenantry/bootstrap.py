"""The only place concrete backends are chosen from settings (DESIGN.md section 7)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from tenantry.backends.fs.blobs import LocalBlobSpace
from tenantry.backends.fs.objects import DirectoryObjectProvisioner
from tenantry.backends.keys.audit import AuditKeyFiles
from tenantry.backends.keys.keyring import KeyProvisioner, Keyring
from tenantry.backends.keys.signing import SigningKeyring
from tenantry.backends.memory.bus import InProcessBus
from tenantry.backends.nats.bus import JetStreamBus
from tenantry.backends.nats.streams import JetStreamProvisioner, StreamLimits
from tenantry.backends.postgres.data import PostgresTenantDataSource, tenant_data_engine
from tenantry.backends.postgres.lookup import PostgresTenantLookup
from tenantry.backends.postgres.moves import PostgresRelationalMover
from tenantry.backends.postgres.relational import PostgresRelationalProvisioner
from tenantry.backends.redis.flow_slots import RedisFlowSlots
from tenantry.backends.redis.limiter import RedisRateLimiter
from tenantry.backends.redis.sequences import RedisSessionSequences
from tenantry.backends.redis.state import RedisState
from tenantry.backends.runtime import DataSource, RuntimeBackends
from tenantry.backends.s3.blobs import S3BlobSpace
from tenantry.backends.s3.moves import S3ObjectMover
from tenantry.backends.s3.objects import S3ObjectProvisioner, S3Settings, s3_client
from tenantry.backends.sqlite.data import SqliteTenantDataSource
from tenantry.backends.sqlite.lookup import SqliteTenantLookup
from tenantry.backends.sqlite.relational import SqliteRelationalProvisioner
from tenantry.backends.sqlite.sequences import SqliteSessionSequences
from tenantry.backends.sqlite.state import SqliteState
from tenantry.core.clock import Clock, utc_now
from tenantry.core.settings import Settings
from tenantry.runtime.blobs import ArchiveArea, BlobSpace
from tenantry.runtime.flows.egress import EgressGuard  # webhooks (issue 13)
from tenantry.runtime.flows.engine import FlowEngine
from tenantry.runtime.messaging.ingress import Ingress
from tenantry.runtime.messaging.limits import BusLimits
from tenantry.runtime.messaging.ports import Bus
from tenantry.runtime.messaging.sequences import SessionSequences
from tenantry.runtime.quota import StorageQuota, unlimited
from tenantry.runtime.state import StateBackend
from tenantry.tenancy.access.service import AccessService
from tenantry.tenancy.audit import batching as audit_batching
from tenantry.tenancy.audit.batching import GroupCommit
from tenantry.tenancy.audit.log import AuditLog
from tenantry.tenancy.audit.sequencer import Cadence
from tenantry.tenancy.audit.splitting import Split
from tenantry.tenancy.controller.resources import Provisioner
from tenantry.tenancy.controller.service import Controller
from tenantry.tenancy.deployment import Deployment
from tenantry.tenancy.events import outbox
from tenantry.tenancy.events.dispatch import Dispatcher, DispatchSettings
from tenantry.tenancy.events.service import EventsService
from tenantry.tenancy.flows.catalog import FlowCatalog
from tenantry.tenancy.flows.wiring import MeteredTokens, RegistrySettings
from tenantry.tenancy.idempotency.service import IdempotencyService
from tenantry.tenancy.isolation.strategies import Layout
from tenantry.tenancy.lifecycle.fence.drain import Fences
from tenantry.tenancy.lifecycle.fence.watch import FenceTiming, FenceWatch
from tenantry.tenancy.lifecycle.freeze import Freezer, FreezeSettings, WriteGate
from tenantry.tenancy.lifecycle.maintenance import MaintenanceScopes
from tenantry.tenancy.lifecycle.moving import BlobObjectMover, Moving, ObjectMover
from tenantry.tenancy.lifecycle.recipes import Toolkit, recipes
from tenantry.tenancy.lifecycle.recipes.migration import Retirements
from tenantry.tenancy.lifecycle.recipes.migration import start as start_migrate_job
from tenantry.tenancy.lifecycle.runner import JobRunner
from tenantry.tenancy.lifecycle.service import LifecycleService
from tenantry.tenancy.limits.catalog import LimitsCatalog
from tenantry.tenancy.limits.counting import RequestMeter
from tenantry.tenancy.limits.doors import DoorLimits, Doors
from tenantry.tenancy.limits.flow_slots import FlowSlots, LocalFlowSlots
from tenantry.tenancy.limits.local import LocalRateLimiter
from tenantry.tenancy.limits.meters import Meters
from tenantry.tenancy.limits.quotas import Quotas
from tenantry.tenancy.limits.service import LimitsService
from tenantry.tenancy.policy.facts import Backend, Backends, Resource
from tenantry.tenancy.policy.service import PolicyService
from tenantry.tenancy.registry import database
from tenantry.tenancy.registry.database import SessionFactory
from tenantry.tenancy.registry.errors import translated
from tenantry.tenancy.registry.service import RegistryService
from tenantry.tenancy.schema.service import Migrator
from tenantry.tenancy.scopes import Scopes, TenantLookup
from tenantry.tenancy.secrets.repository import SqlSecretRecords
from tenantry.tenancy.webhooks.sealing import SecretSealer  # webhooks (issue 13)
from tenantry.tenancy.webhooks.service import Webhooks  # webhooks (issue 13)


@dataclass(frozen=True, slots=True)
class Services:
    """Everything adapters (CLI, API, worker) call into, wired for one process."""

    settings: Settings
    engine: AsyncEngine
    registry: RegistryService
    controller: Controller
    migrator: Migrator
    scopes: Scopes
    access: AccessService
    limits: LimitsService
    quotas: Quotas
    meters: Meters
    idempotency: IdempotencyService
    lifecycle: LifecycleService
    jobs: JobRunner  # runs lifecycle jobs (the worker's job loop, and the CLI's --wait)
    job_requested: asyncio.Event  # set when this process requests a job: the loop wakes
    fence: FenceWatch  # this process's in-flight requests and heartbeat (the suspend's drain)
    bus: Bus  # tenants' messages: in-process, or NATS JetStream
    ingress: Ingress  # channels' user messages onto the bus
    flows: FlowCatalog  # which flow answers a channel
    flow_engine: FlowEngine  # runs a flow's turn
    audit: AuditLog  # appends audit records in a transaction of their own
    policies: PolicyService  # the policy registry: gates, refusals, list and check
    retirements: Retirements | None = None  # migrations' old copies, retired after the grace
    events: EventsService | None = None  # tenancy events: schemas, keys, outbox dispatcher
    audit_writes: GroupCommit | None = None  # issue 13: API writes' records, group-committed


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
                await database.migrate(engine, owner_url=settings.database_owner_url)
        sessions = database.session_factory(engine)
        event_keys = events_keyring(settings)  # events (issue 13): emit signs with it
        outbox.sign_with(engine, event_keys)
        migrator = Migrator(
            engine,
            postgres_url=settings.tenant_postgres_url(),
            data_root=settings.data_dir.resolve(),
            clock=clock,
        )
        layout = Layout(subject_prefix=settings.subject_prefix)
        job_requested = asyncio.Event()
        deployment = Deployment.of(settings)  # the tenants this instance serves
        policies = PolicyService(  # policies (issue 13)
            sessions,
            backends=policy_backends(settings),
            key_ages=Keyring(settings.data_dir.resolve()).created_at,
            clock=clock,
        )
        lifecycle = LifecycleService(
            sessions,
            clock=clock,
            wake=job_requested.set,
            deployment=deployment,
            policies=policies,
        )

        async def start_migration(tenant_id: str) -> object:
            return await start_migrate_job(lifecycle, sessions, tenant_id)

        controller = Controller(
            engine,
            provisioners(settings),
            layout=layout,
            migrator=migrator,
            clock=clock,
            purges=lifecycle,
            migrations=start_migration,
            deployment=deployment,
        )
        registry = RegistryService(
            sessions, clock=clock, lifecycle=lifecycle, deployment=deployment, policies=policies
        )
        catalog = LimitsCatalog(sessions)
        quotas = Quotas(
            sessions, catalog, clock=clock, events_window=settings.events_quota_window_seconds
        )
        backends = runtime(settings, sessions, quotas=quotas.bind)
        freezing = FreezeSettings(wait=settings.migration_write_wait_seconds)
        scopes = Scopes(
            tenant_lookup(settings),
            backends,
            gate=WriteGate(sessions, settings=freezing, clock=clock),
            deployment=deployment,
        )
        access = AccessService(
            sessions,
            SigningKeyring(settings.data_dir.resolve()),
            admin_token=settings.admin_token.get_secret_value() if settings.admin_token else None,
            clock=clock,
            limits=catalog,
            refusal_window=timedelta(seconds=settings.refusal_audit_seconds),
            deployment=deployment,
        )
        relational = _relational_mover(settings)
        moving = Moving(
            layout=layout,
            provisioners=controller.provisioners,
            migrator=migrator,
            objects=_object_mover(settings),
            freezer=Freezer(sessions, settings=freezing, clock=clock),
            engine=engine,
            relational=relational,
            grace=timedelta(seconds=settings.migration_grace_seconds),
            reconcile=lambda tenant_id: controller.reconcile(tenant_id, for_job=True),
        )
        idempotency = IdempotencyService(sessions, clock=clock)
        timing = fence_timing(settings)
        fence = FenceWatch(sessions, timing=timing)
        toolkit = Toolkit(
            sessions,
            keys=backends.keyring,
            idempotency=idempotency,
            clock=clock,
            fences=Fences(sessions, timing),
            controller=controller,
            archives=archives(settings),
            sealer=backends.sealer,
            moving=moving,
        )
        jobs = JobRunner(
            sessions,
            recipes(toolkit),
            MaintenanceScopes(sessions, backends),
            clock=clock,
            lease=settings.job_lease_seconds,
        )
        async with (
            message_bus(settings) as bus,
            session_sequences(settings) as sequences,
            _refusal_audit(access),
            _limits(settings, sessions, catalog, clock) as (limits, meters),
            fence.running(),
            quotas.running(),
            audit_batching.running(engine, clock) as audit_writes,
        ):
            try:
                yield Services(
                    settings,
                    engine,
                    registry,
                    controller,
                    migrator,
                    scopes,
                    access,
                    limits,
                    quotas,
                    meters,
                    idempotency,
                    lifecycle,
                    jobs,
                    job_requested,
                    fence,
                    bus,
                    Ingress(bus, clock=clock, sequences=sequences),
                    FlowCatalog(sessions),
                    FlowEngine(
                        settings=RegistrySettings(sessions),
                        tokens=MeteredTokens(meters),
                        egress_allow=settings.flow_egress_allow,
                    ),
                    _audit_log(settings, sessions, clock),
                    policies,
                    Retirements(toolkit),
                    events_service(settings, sessions, bus, event_keys, clock),
                    audit_writes,
                )
            finally:
                if relational is not None:
                    await relational.close()
                await scopes.close()
                await backends.close()
                await controller.close()
                await migrator.close()
    finally:
        await engine.dispose()


def _audit_log(settings: Settings, sessions: SessionFactory, clock: Clock) -> AuditLog:
    """The audit log with its keys (beside the tenants' keys) and its checkpoint cadence."""
    root = settings.data_dir.resolve()
    cadence = Cadence(
        checkpoint_records=settings.audit_checkpoint_records,
        checkpoint_seconds=settings.audit_checkpoint_seconds,
        settle_seconds=settings.audit_settle_seconds,
    )
    keys = AuditKeyFiles(root, Keyring(root))
    split = Split(processes=settings.audit_verify_processes)
    return AuditLog(sessions, clock, keys=keys, cadence=cadence, split=split)


@asynccontextmanager
async def message_bus(settings: Settings) -> AsyncIterator[Bus]:
    """The bus tenants' messages travel on (NATS JetStream when ``nats_url`` is set, else the
    in-process bus), closed at the end."""
    limits = bus_limits(settings)
    events = settings.events_subject_prefix
    bus: InProcessBus | JetStreamBus = (
        JetStreamBus(
            settings.nats_url,
            prefix=settings.subject_prefix,
            limits=limits,
            events_prefix=events,
            events_max_age=settings.events_retention_seconds,
        )
        if settings.nats_url
        else InProcessBus(prefix=settings.subject_prefix, limits=limits, events_prefix=events)
    )
    try:
        yield bus
    finally:
        await bus.close()


# -- tenancy events (issue 13) --
def events_keyring(settings: Settings) -> SigningKeyring:
    """The events signing keys: a keyring of their own beside the token keyring's
    (``{data_dir}/events/signing/keyring.json``), so rotating one never touches the other."""
    return SigningKeyring(settings.data_dir.resolve() / "events")


def events_service(
    settings: Settings, sessions: SessionFactory, bus: Bus, keys: SigningKeyring, clock: Clock
) -> EventsService:
    dispatch = DispatchSettings(
        prefix=settings.events_subject_prefix,
        retention=timedelta(seconds=settings.events_retention_seconds),
    )
    return EventsService(Dispatcher(sessions, bus, keys, settings=dispatch, clock=clock), keys)


def bus_limits(settings: Settings) -> BusLimits:
    return BusLimits(
        max_msgs=settings.bus_tenant_max_msgs,
        ack_wait=settings.bus_ack_wait_seconds,
        dedup_window=settings.bus_dedup_window_seconds,
    )


@asynccontextmanager
async def session_sequences(settings: Settings) -> AsyncIterator[SessionSequences]:
    """The counters numbering sessions' messages at ingress: Redis, or a SQLite file."""
    sequences: SessionSequences = (
        RedisSessionSequences(settings.redis_url)
        if settings.redis_url
        else SqliteSessionSequences(settings.data_dir.resolve() / "sequences.sqlite3")
    )
    try:
        yield sequences
    finally:
        await sequences.close()


@asynccontextmanager
async def flow_slots(settings: Settings, limits: LimitsService) -> AsyncIterator[FlowSlots]:
    """Tenants' flow execution slots: shared through Redis when configured, else counted in
    this process (with the API's own count, ``limits.flows``)."""
    local = LocalFlowSlots(limits.flows)
    slots: FlowSlots = (
        RedisFlowSlots(settings.redis_url, lease=settings.flow_lease_seconds, fallback=local)
        if settings.redis_url
        else local
    )
    try:
        yield slots
    finally:
        await slots.close()


def fence_timing(settings: Settings) -> FenceTiming:
    return FenceTiming(
        poll=settings.fence_poll_seconds,
        heartbeat=settings.fence_heartbeat_seconds,
        stale=settings.fence_stale_seconds,
        drain=settings.fence_drain_seconds,
    )


@asynccontextmanager
async def _limits(
    settings: Settings, sessions: SessionFactory, catalog: LimitsCatalog, clock: Clock
) -> AsyncIterator[tuple[LimitsService, Meters]]:
    """Rate limits (shared through Redis when configured) and meters; admitted requests are
    metered in the background."""
    window = settings.events_quota_window_seconds
    meters = Meters(sessions, catalog, clock=clock, events_window=window)
    rates: RedisRateLimiter | LocalRateLimiter = (
        RedisRateLimiter(settings.redis_url) if settings.redis_url else LocalRateLimiter()
    )
    request_meter = RequestMeter(meters, clock=clock)
    metering = asyncio.create_task(request_meter.run())
    doors = Doors(rates, DoorLimits.of_settings(settings))
    try:
        yield LimitsService(catalog, rates, meter=request_meter, doors=doors), meters
    finally:
        metering.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await metering
        if isinstance(rates, RedisRateLimiter):
            await rates.aclose()


@asynccontextmanager
async def _refusal_audit(access: AccessService) -> AsyncIterator[None]:
    """Refusal summaries appended as their windows close, and every open one at the end."""
    flushing = asyncio.create_task(access.refusals.run())
    try:
        yield
    finally:
        flushing.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await flushing
        await access.aclose()


def policy_backends(settings: Settings) -> Backends:
    """Which backend holds each kind of resource, and the region its setting declares."""
    embedded = Backend("embedded", settings.embedded_region)

    def chosen(used: object, name: str, region: str | None) -> Backend:
        return Backend(name, region) if used else embedded

    return Backends(
        {
            Resource.RELATIONAL: chosen(
                settings.tenant_postgres_url(), "postgres", settings.postgres_region
            ),
            Resource.OBJECTS: chosen(settings.objects == "s3", "objects", settings.objects_region),
            Resource.MESSAGING: chosen(settings.nats_url, "nats", settings.nats_region),
            Resource.STATE: chosen(settings.redis_url, "redis", settings.redis_region),
            Resource.KEYS: embedded,  # the local keyring file
        }
    )


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
        limits = StreamLimits(
            duplicate_window_seconds=settings.bus_dedup_window_seconds,
            ack_wait_seconds=settings.bus_ack_wait_seconds,
        )
        found.append(JetStreamProvisioner(settings.nats_url, layout=layout, limits=limits))
    return found


def _relational_mover(settings: Settings) -> PostgresRelationalMover | None:
    """Relational moves between placements: on PostgreSQL only (a SQLite file is the same
    whatever the profile)."""
    postgres = settings.tenant_postgres_url()
    return PostgresRelationalMover(_libpq(postgres)) if postgres else None


def _object_mover(settings: Settings) -> ObjectMover:
    if settings.objects == "local":
        root = settings.data_dir.resolve() / "objects"
        return BlobObjectMover(lambda placed: LocalBlobSpace.for_objects(root, placed))
    s3 = _s3(settings)
    return S3ObjectMover(s3_client(s3), shared_bucket=s3.shared_bucket)


def _objects(settings: Settings) -> Provisioner:
    if settings.objects == "local":
        return DirectoryObjectProvisioner(settings.data_dir.resolve() / "objects")
    return S3ObjectProvisioner(_s3(settings))


def _s3(settings: Settings) -> S3Settings:
    secret = settings.s3_secret_key.get_secret_value() if settings.s3_secret_key else None
    return S3Settings(
        endpoint_url=settings.s3_endpoint_url,
        region=settings.s3_region,
        access_key=settings.s3_access_key,
        secret_key=secret,
        shared_bucket=settings.s3_shared_bucket,
    )


def tenant_lookup(settings: Settings) -> TenantLookup:
    """The read of a tenant's status on every scope opened, on the control database's driver."""
    url = make_url(settings.control_database_url())
    if url.get_backend_name() == "sqlite":
        return SqliteTenantLookup(Path(url.database or ""))
    return PostgresTenantLookup(_libpq(url.render_as_string(hide_password=False)))


def runtime(
    settings: Settings,
    sessions: SessionFactory,
    *,
    quotas: Callable[[str], StorageQuota] = unlimited,
) -> RuntimeBackends:
    """The tenant runtime's backends: embedded files, or PostgreSQL, Redis and S3; every store
    counts what it keeps against ``quotas(tenant)``."""
    root = settings.data_dir.resolve()
    postgres = settings.tenant_postgres_url()
    engine = tenant_data_engine(postgres) if postgres else None
    data: DataSource = PostgresTenantDataSource(engine) if engine else SqliteTenantDataSource(root)
    state: StateBackend = (
        RedisState(settings.redis_url)
        if settings.redis_url
        else SqliteState(root / "state.sqlite3")
    )
    return RuntimeBackends(
        keyring=Keyring(root),
        state=state,
        data=data,
        secrets=SqlSecretRecords(sessions),
        engine=engine,
        quotas=quotas,
        **_spaces(settings),
    )


def _spaces(settings: Settings) -> dict[str, Any]:
    """The session space and the object spaces, on local directories or the S3 API."""
    if settings.objects == "local":
        objects = settings.data_dir.resolve() / "objects"
        return {
            "sessions": LocalBlobSpace(
                settings.data_dir.resolve() / "runtime", durable=settings.session_fsync
            ),
            "objects": lambda placed: LocalBlobSpace.for_objects(objects, placed),
        }
    s3 = _s3(settings)
    connection = s3_client(s3)
    return {
        "sessions": S3BlobSpace(connection, s3.shared_bucket),
        "objects": lambda placed: S3BlobSpace.for_objects(
            connection, placed, shared_bucket=s3.shared_bucket
        ),
    }


@dataclass(frozen=True, slots=True)
class _ArchiveArea:
    spaces: Callable[[str], BlobSpace]

    def space(self, tenant: str) -> BlobSpace:
        return self.spaces(tenant)


def archives(settings: Settings) -> ArchiveArea:
    """Tenants' archive areas: ``archive/{tenant}/`` beside the object spaces (a local
    directory, or the shared bucket)."""
    if settings.objects == "local":
        root = settings.data_dir.resolve() / "objects"
        return _ArchiveArea(lambda tenant: LocalBlobSpace.for_archive(root, tenant))
    s3 = _s3(settings)
    connection = s3_client(s3)
    return _ArchiveArea(
        lambda tenant: S3BlobSpace.for_archive(connection, tenant, shared_bucket=s3.shared_bucket)
    )


def _libpq(url: str) -> str:
    """A SQLAlchemy-style URL as psycopg wants it (``postgresql://``, no driver suffix)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


# -- webhooks (issue 13) --
def webhook_sealer(settings: Settings) -> SecretSealer:
    """Webhook signing secrets' sealer: tenants' keyring, and the platform's own beside it."""
    root = settings.data_dir.resolve()
    return SecretSealer(Keyring(root), Keyring(root / "platform"))


def webhooks(services: Services) -> Webhooks:
    """The webhook endpoints' service (``/api/v1/webhooks``, ``tenantry webhooks``)."""
    settings = services.settings
    return Webhooks(
        database.session_factory(services.engine),
        webhook_sealer(settings),
        allowed=EgressGuard(allow=settings.webhook_egress_allow).allowed,
        overlap=timedelta(seconds=settings.webhook_secret_overlap_seconds),
    )
