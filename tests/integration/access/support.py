"""Shared by the access tests: registered tenants, a movable clock and a wired access service."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update

from tenantry.backends.keys.signing import SigningKeyring
from tenantry.bootstrap import Services
from tenantry.tenancy.access.models import ApiKeyRow, AuditRecordRow
from tenantry.tenancy.access.service import AccessService
from tenantry.tenancy.manifests.schemas import Bundle, Environment, Team, TenantSpec
from tenantry.tenancy.registry import database
from tenantry.tenancy.registry.models import TenantRow

ADMIN_TOKEN = "admin-secret"  # the `settings` fixture's TENANTRY_ADMIN_TOKEN
TEAMS = {"acme": ("support", "sales"), "globex": ("ops",)}


class MovableClock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, by: timedelta) -> None:
        self.now += by


@dataclass
class Kit:
    services: Services
    access: AccessService
    keys: SigningKeyring
    clock: MovableClock

    async def set_tenant(self, tenant: str, **values: object) -> None:
        async with self.services.engine.begin() as db:
            await db.execute(update(TenantRow).where(TenantRow.id == tenant).values(**values))

    async def stored_audit(self, action: str) -> list[AuditRecordRow]:
        """The stored rows of ``action``, every column (the listing shows fewer), oldest first."""
        query = select(AuditRecordRow).where(AuditRecordRow.action == action)
        async with database.session_factory(self.services.engine)() as session:
            return list((await session.scalars(query.order_by(AuditRecordRow.id))).all())

    async def count(self, table: type[ApiKeyRow] | type[AuditRecordRow]) -> int:
        async with database.session_factory(self.services.engine)() as session:
            return int(await session.scalar(select(func.count()).select_from(table)) or 0)


def bundle(*tenants: str) -> Bundle:
    return Bundle(
        tenants={
            t: TenantSpec(
                name=t,
                environments=[Environment(id="prod"), Environment(id="staging")],
                teams={team: Team() for team in TEAMS.get(t, ())},
            )
            for t in tenants
        }
    )


def access_for(services: Services, clock: MovableClock) -> tuple[AccessService, SigningKeyring]:
    """The service as bootstrap wires it: the control DB, the data dir's signing keyring."""
    keys = SigningKeyring(services.settings.data_dir.resolve())
    token = services.settings.admin_token
    access = AccessService(
        database.session_factory(services.engine),
        keys,
        admin_token=token.get_secret_value() if token else None,
        clock=clock,
    )
    return access, keys


async def kit_for(services: Services, *, reconcile: bool = False) -> Kit:
    await services.registry.apply(bundle("acme", "globex"))
    if reconcile:
        outcomes = await services.controller.reconcile_many(["acme", "globex"], concurrency=2)
        assert {o.result for o in outcomes} == {"ready"}, [o.message for o in outcomes]
    clock = MovableClock()
    access, keys = access_for(services, clock)
    return Kit(services, access, keys, clock)
