"""The webchat tests' world: acme and bigcorp, each with a team ``support`` holding two webchat
channels, real tokens, the whole app; and :func:`answer`, which does what the runner does with
a message (the runner is built elsewhere): fetch it from ingress, record the turn in the
session, publish the replies on egress, ack."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import httpx
from sqlalchemy import update

from tenantry.bootstrap import Services
from tenantry.core import names
from tenantry.core.clock import utc_now
from tenantry.core.context import TenantCtx
from tenantry.runtime.flows.turns import Turn, answered, recorded
from tenantry.runtime.messaging.envelope import Envelope, reply_id
from tenantry.tenancy.access.schemas import Role
from tenantry.tenancy.limits.schemas import LimitsSpec
from tenantry.tenancy.manifests.schemas import Bundle, Channel, Environment, Team, TenantSpec
from tenantry.tenancy.registry.models import TenantRow

TEAM = "support"
CHANNEL = "webchat"
OTHER_CHANNEL = "lobby"
WEB = "messaging-webchat"


def bundle(*, max_connections: int | None = None) -> Bundle:
    team = Team(channels={CHANNEL: Channel(provider=WEB), OTHER_CHANNEL: Channel(provider=WEB)})
    limits = None if max_connections is None else LimitsSpec(max_connections=max_connections)
    spec = {
        t: TenantSpec(
            name=t,
            environments=[Environment(id="prod"), Environment(id="staging")],
            teams={TEAM: team, "sales": Team()},
            limits=limits,
        )
        for t in ("acme", "bigcorp")
    }
    return Bundle(tenants=spec)


@dataclass(frozen=True, slots=True)
class Caller:
    token: str
    tenant: str

    def headers(self, **extra: str) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self.token}",
            "X-Tenant-ID": self.tenant,
            "X-Team-ID": TEAM,
            **extra,
        }


async def setup(services: Services, *, max_connections: int | None = None) -> None:
    await services.registry.apply(bundle(max_connections=max_connections))
    outcomes = await services.controller.reconcile_many(["acme", "bigcorp"], concurrency=2)
    assert {o.result for o in outcomes} == {"ready"}, [o.message for o in outcomes]


async def caller(services: Services, tenant: str, role: Role, team: str | None = TEAM) -> Caller:
    issued = await services.access.issue_token(
        f"{role.value}-{tenant}",
        tenant=tenant,
        team=None if role is Role.TENANT_ADMIN else team,
        role=role,
    )
    return Caller(issued.token, tenant)


async def answer(
    services: Services, tenant: str, replies: Sequence[str] = ("pong",), *, env: str = "prod"
) -> list[Envelope]:
    """Answer every message waiting on the tenant environment's ingress as the runner does
    (processing order of the brief): each reply of ``replies`` with ``{text}`` filled in."""
    handled = []
    bus = services.bus
    for delivery in await bus.fetch(names.Direction.INGRESS, tenant, env, batch=50, wait=0.1):
        message = Envelope.decode(delivery.data)
        message.check_subject(delivery.subject, prefix=bus.prefix)
        team = None if message.team_id == "default" else message.team_id
        scope = await services.scopes.open(TenantCtx(tenant_id=tenant, env_id=env, team_id=team))
        session = await scope.team.sessions.get(message.session_id)
        texts = tuple(reply.format(text=message.text) for reply in replies)
        if answered(session, message) is None:
            session = recorded(session, message, Turn(texts, None), utc_now())
            await scope.team.sessions.update(session)
        for index, text in enumerate(texts):
            out = Envelope.of(
                **{
                    **message.model_dump(exclude={"received_at", "seq"}),
                    "message_id": reply_id(message.message_id, index),
                    "role": "assistant",
                    "user_id": "flow",
                    "text": text,
                    "in_reply_to": message.message_id,
                    "sent_at": utc_now(),
                }
            )
            subject = out.subject(names.Direction.EGRESS, prefix=bus.prefix)
            await bus.publish(subject, out.encode(), message_id=out.message_id)
        await delivery.ack()
        handled.append(message)
    return handled


async def mint(
    http: httpx.AsyncClient, admin: Caller, channel: str = CHANNEL, **body: object
) -> dict[str, str]:
    response = await http.post(
        f"/api/v1/channels/{channel}/visitors", json=body, headers=admin.headers()
    )
    assert response.status_code == 201, response.text
    minted: dict[str, str] = response.json()
    return minted


def visitor(minted: dict[str, str], **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {minted['token']}", **extra}


async def suspend(services: Services, tenant: str) -> None:
    """What a suspend leaves in the registry (the lifecycle job's effect, for these tests)."""
    async with services.engine.begin() as db:
        await db.execute(
            update(TenantRow).where(TenantRow.id == tenant).values(lifecycle_state="suspended")
        )
