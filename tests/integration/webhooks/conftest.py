"""Fixtures of the webhook tests: services whose webhook egress allows loopback (the receivers
listen on 127.0.0.1, and nothing else is dialled), two tenants, the service and a dispatcher."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from tenantry import bootstrap
from tenantry.bootstrap import Services
from tenantry.core.clock import utc_now
from tenantry.core.settings import Settings
from tenantry.tenancy.events.outbox import emit
from tenantry.tenancy.events.schemas import Event, EventType
from tenantry.tenancy.manifests.schemas import Bundle, Environment, TenantSpec
from tenantry.tenancy.registry import database
from tenantry.tenancy.webhooks.models import DeliveryRow
from tenantry.tenancy.webhooks.schemas import Owner
from tenantry.tenancy.webhooks.service import Webhooks
from tenantry.worker.webhooks import WebhookDispatcher

A, B = "acme", "bigcorp"
OWNER_A, OWNER_B = Owner(A, "admin-acme"), Owner(B, "admin-bigcorp")
PLATFORM = Owner(None, "root")


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=database_url,
        data_dir=tmp_path / "data",
        admin_token="admin-secret",
        webhook_egress_allow=["127.0.0.1/32"],
        webhook_timeout_seconds=30.0,  # a machine that stalls for seconds still gets answers
    )


@pytest.fixture
async def tenants(wired: Services) -> Services:
    spec = {t: TenantSpec(name=t, environments=[Environment(id="prod")]) for t in (A, B)}
    await wired.registry.apply(Bundle(tenants=spec))
    outcomes = await wired.controller.reconcile_many([A, B], concurrency=2)
    assert {o.result for o in outcomes} == {"ready"}, [o.message for o in outcomes]
    return wired


@pytest.fixture
def hooks(tenants: Services) -> Webhooks:
    return bootstrap.webhooks(tenants)


@pytest.fixture
async def dispatcher(tenants: Services) -> AsyncIterator[WebhookDispatcher]:
    sender = WebhookDispatcher.of(tenants, poll=0.05)
    yield sender
    await sender.aclose()


async def announce(
    services: Services, tenant: str, kind: EventType = EventType.TENANT_UPDATED, **data: Any
) -> str:
    """An event of ``tenant``'s, written to the outbox as a change announces it."""
    async with database.session_factory(services.engine)() as session, session.begin():
        return await emit(session, Event(kind, tenant, data=data), now=utc_now())


async def make_due(services: Services, *, at: datetime | None = None) -> None:
    """Every pending delivery due now (a retry's backoff skipped)."""
    async with database.session_factory(services.engine)() as session, session.begin():
        await session.execute(
            update(DeliveryRow)
            .where(DeliveryRow.status == "pending")
            .values(next_attempt_at=at or utc_now())
        )


async def rounds(dispatcher: WebhookDispatcher, count: int = 1) -> None:
    """Fan out and start what is due, ``count`` times, then let the started sends finish."""
    for _ in range(count):
        await dispatcher.fan_out()
        await dispatcher.start_due()
        await dispatcher.settled()
