"""Shared pieces of the flow tests: an active tenant's scope, a session, a message."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

from tenantry.bootstrap import Services
from tenantry.core import ids
from tenantry.core.context import TenantCtx
from tenantry.runtime.flows.model import FlowDef
from tenantry.runtime.flows.turns import recorded
from tenantry.runtime.messaging.envelope import Envelope
from tenantry.runtime.scope import TenantScope
from tenantry.runtime.sessions.schemas import Session
from tenantry.tenancy.manifests.schemas import Bundle, Channel, Environment, Team, TenantSpec

NOW = datetime(2026, 12, 6, tzinfo=UTC)
_ids = itertools.count(1)


def flow(*nodes: dict[str, Any], name: str = "test_flow", version: str = "1.0") -> FlowDef:
    return FlowDef.of({"name": name, "version": version, "nodes": list(nodes)})


def spec(name: str, *, settings: dict[str, Any] | None = None) -> TenantSpec:
    teams = {"support": Team(channels={"webchat": Channel(provider="messaging-webchat")})}
    return TenantSpec(
        name=name, environments=[Environment(id="prod")], teams=teams, settings=settings or {}
    )


async def active(wired: Services, **specs: TenantSpec) -> None:
    await wired.registry.apply(Bundle(tenants=specs))
    outcomes = await wired.controller.reconcile_many(list(specs), concurrency=4)
    assert {o.result for o in outcomes} == {"ready"}, [o.message for o in outcomes]


async def scope_of(wired: Services, tenant: str) -> TenantScope:
    ctx = TenantCtx(
        tenant_id=ids.tenant_id(tenant), env_id=ids.env_id("prod"), team_id=ids.team_id("support")
    )
    return await wired.scopes.open(ctx)


async def new_session(scope: TenantScope, session_id: str = "s1") -> Session:
    return await scope.team.sessions.create(session_id, channel="webchat", user="u1")


def message(scope: TenantScope, session: Session, text: str) -> Envelope:
    return Envelope.of(
        message_id=f"m{next(_ids)}",
        tenant_id=scope.ctx.tenant_id,
        env_id="prod",
        team_id="support",
        channel_id="webchat",
        session_id=session.session_id,
        user_id="u1",
        text=text,
        sent_at=NOW,
    )


async def say(
    wired: Services, scope: TenantScope, f: FlowDef, session: Session, text: str
) -> Session:
    """One turn, recorded in the session as the runner does; the session after it."""
    sent = message(scope, session, text)
    turn = await wired.flow_engine.run(scope, f, session, sent)
    return await scope.team.sessions.update(recorded(session, sent, turn, NOW))
