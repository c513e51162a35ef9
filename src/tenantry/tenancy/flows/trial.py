"""``tenantry flows test``: run a tenant's flow on a few messages, locally, in a throwaway
session (never stored; state a ``set`` writes is deleted after), and return each turn."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from tenantry.core import ids
from tenantry.core.clock import utc_now
from tenantry.core.context import TenantCtx
from tenantry.runtime.flows.engine import FlowEngine
from tenantry.runtime.flows.model import FlowDef
from tenantry.runtime.flows.turns import Turn, recorded
from tenantry.runtime.messaging.envelope import Envelope
from tenantry.runtime.scope import TenantScope
from tenantry.runtime.sessions.schemas import Session
from tenantry.tenancy.scopes import Scopes

TRIAL_CHANNEL = "flows-test"


@dataclass(frozen=True, slots=True)
class Exchange:
    message: str
    turn: Turn


async def trial(
    scopes: Scopes,
    engine: FlowEngine,
    ctx: TenantCtx,
    flow: FlowDef,
    *,
    messages: Sequence[str],
    user: str = "flows-test",
) -> list[Exchange]:
    """The turns of ``flow`` answering ``messages`` one after the other in one session."""
    scope = await scopes.open(ctx)
    session = _session(scope, user)
    exchanges: list[Exchange] = []
    try:
        for index, text in enumerate(messages):
            sent = _message(scope, session, text, index, user)
            turn = await engine.run(scope, flow, session, sent)
            session = recorded(session, sent, turn, utc_now())
            exchanges.append(Exchange(text, turn))
    finally:
        await scope.team.state.delete(session.session_id)
    return exchanges


def _session(scope: TenantScope, user: str) -> Session:
    now = utc_now()
    return Session(
        tenant_id=scope.ctx.tenant_id,
        env_id=scope.ctx.env_id,
        team_id=scope.ctx.team_id or ids.DEFAULT_TEAM,
        session_id=ids.session_id(f"test-{uuid.uuid4().hex[:16]}"),
        channel_id=None,
        user_id=user,
        cursor=None,
        variables={},
        transcript=(),
        created_at=now,
        updated_at=now,
        expires_at=None,
        revision=1,
    )


def _message(scope: TenantScope, session: Session, text: str, index: int, user: str) -> Envelope:
    return Envelope.of(
        message_id=f"{session.session_id}-m{index}",
        tenant_id=scope.ctx.tenant_id,
        env_id=scope.ctx.env_id,
        team_id=session.team_id,
        channel_id=TRIAL_CHANNEL,
        session_id=session.session_id,
        user_id=user,
        text=text,
        sent_at=utc_now(),
    )
