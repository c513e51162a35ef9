"""The bus as services wire it: on a NATS server the controller provisions acme (a shared
stream) and bigcorp (a dedicated one), and each tenant's ingress carries only its own
channel messages; on the in-process bus likewise."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tenantry.bootstrap import Services, services
from tenantry.core import ids, names
from tenantry.core.context import TenantCtx
from tenantry.core.settings import Settings
from tenantry.runtime.messaging.envelope import Envelope
from tenantry.runtime.messaging.ingress import Inbound
from tenantry.tenancy.manifests import loader
from tests.conftest import EXAMPLE_BUNDLE
from tests.e2e.test_outage import NatsServer

INGRESS = names.Direction.INGRESS
SPEAKERS = {"acme": ("support", "webchat"), "bigcorp": ("helpdesk", "webchat")}


@pytest.fixture(params=["in-process", pytest.param("nats", marks=pytest.mark.postgres)])
def bus_settings(
    request: pytest.FixtureRequest, settings: Settings, tmp_path: Path
) -> Iterator[Settings]:
    if request.param == "in-process":
        yield settings
        return
    server = NatsServer(tmp_path / "nats")
    server.start()
    try:
        yield settings.model_copy(update={"nats_url": server.url})
    finally:
        server.stop()


async def _say(wired: Services, tenant: str, text: str) -> str:
    team, channel = SPEAKERS[tenant]
    ctx = TenantCtx(
        tenant_id=ids.tenant_id(tenant), env_id=ids.env_id("prod"), team_id=ids.team_id(team)
    )
    scope = await wired.scopes.open(ctx)
    accepted = await wired.ingress.accept(scope, Inbound(channel, "visitor-1", text))
    return accepted.message_id


async def test_each_tenant_reads_only_its_own_ingress(bus_settings: Settings) -> None:
    bundle = loader.load([EXAMPLE_BUNDLE])
    async with services(bus_settings) as wired:
        await wired.registry.apply(bundle)
        outcomes = await wired.controller.reconcile_many(["acme", "bigcorp"], concurrency=2)
        assert {o.result for o in outcomes} == {"ready"}, [o.message for o in outcomes]
        sent = {tenant: [await _say(wired, tenant, f"hi from {tenant}")] for tenant in SPEAKERS}
        for tenant, team_channel in SPEAKERS.items():
            found = await wired.bus.fetch(INGRESS, tenant, "prod", batch=10, wait=2)
            envelopes = [Envelope.decode(d.data) for d in found]
            assert [e.message_id for e in envelopes] == sent[tenant]
            assert {(e.tenant_id, e.team_id, e.channel_id) for e in envelopes} == {
                (tenant, *team_channel)
            }
            for delivery in found:
                assert (
                    Envelope.decode(delivery.data).check_subject(
                        delivery.subject, prefix=wired.bus.prefix
                    )
                    is INGRESS
                )
                await delivery.ack()
