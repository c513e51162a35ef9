"""Tenants with provider channels, their secrets, and requests signed as each provider signs."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

import httpx
from fastapi import FastAPI

from tenantry.bootstrap import Services
from tenantry.core import names
from tenantry.core.context import TenantCtx
from tenantry.runtime.messaging.envelope import Envelope, reply_id
from tenantry.runtime.messaging.ports import Bus
from tenantry.tenancy.channels.hooks import Hooks
from tenantry.tenancy.manifests.schemas import Bundle, Channel, Environment, Team, TenantSpec
from tenantry.tenancy.registry import database

NOW: Final = 1_800_000_000.0  # the hooks' clock in these tests (seconds since the epoch)
TEAM: Final = "support"
CHANNELS: Final = {
    "slack": Channel(provider="messaging-slack", config={"workspace_id": "T0001"}),
    "telegram": Channel(provider="messaging-telegram"),
    "teams": Channel(provider="messaging-teams", config={"security_token": "teams_hmac"}),
    "webchat": Channel(provider="messaging-webchat"),
}


@dataclass(frozen=True, slots=True)
class Keys:
    """A tenant's provider secrets (values)."""

    slack: str
    telegram: str
    teams: str  # base64, as Teams shows it
    slack_token: str
    telegram_token: str

    @classmethod
    def fresh(cls) -> Keys:
        return cls(
            slack=secrets.token_hex(16),
            telegram=secrets.token_urlsafe(24),
            teams=base64.b64encode(secrets.token_bytes(32)).decode(),
            slack_token=f"xoxb-{secrets.token_hex(8)}",
            telegram_token=f"{secrets.randbelow(10**9)}:{secrets.token_urlsafe(30)}",
        )


async def world(
    services: Services, tenants: tuple[str, ...] = ("acme", "bigcorp")
) -> dict[str, Keys]:
    spec = {
        t: TenantSpec(
            name=t,
            environments=[Environment(id="prod")],
            teams={TEAM: Team(channels=CHANNELS)},
        )
        for t in tenants
    }
    await services.registry.apply(Bundle(tenants=spec))
    outcomes = await services.controller.reconcile_many(list(tenants), concurrency=2)
    assert {o.result for o in outcomes} == {"ready"}, [o.message for o in outcomes]
    keys = {}
    for tenant in tenants:
        keys[tenant] = made = Keys.fresh()
        scope = await services.scopes.open(ctx(tenant))
        await scope.team.secrets.put("slack_signing_secret", made.slack)
        await scope.team.secrets.put("telegram_secret_token", made.telegram)
        await scope.team.secrets.put("teams_hmac", made.teams)
        await scope.team.secrets.put("slack_bot_token", made.slack_token)
        await scope.team.secrets.put("telegram_bot_token", made.telegram_token)
    return keys


def ctx(tenant: str) -> TenantCtx:
    return TenantCtx(tenant_id=tenant, env_id="prod", team_id=TEAM)  # type: ignore[arg-type]


def hook(tenant: str, channel: str, team: str = TEAM) -> str:
    return f"/hooks/{tenant}/prod/{team}/{channel}"


def slack_event(
    text: str = "hello", *, event_id: str = "Ev0001", user: str = "U0001", channel: str = "C0001"
) -> dict[str, Any]:
    return {
        "type": "event_callback",
        "team_id": "T0001",
        "event_id": event_id,
        "event": {"type": "message", "channel": channel, "user": user, "text": text, "ts": "1.5"},
    }


def slack_headers(secret: str, body: bytes, *, at: float = NOW) -> dict[str, str]:
    stamp = str(int(at))
    mac = hmac.new(secret.encode(), f"v0:{stamp}:".encode() + body, hashlib.sha256).hexdigest()
    return {
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": f"v0={mac}",
        "Content-Type": "application/json",
    }


def telegram_update(text: str = "hi", *, update_id: int = 1, chat: int = -100123) -> dict[str, Any]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": 7,
            "from": {"id": 42, "is_bot": False, "first_name": "Ann"},
            "chat": {"id": chat, "type": "group"},
            "date": 1_700_000_000,
            "text": text,
        },
    }


def telegram_headers(secret: str) -> dict[str, str]:
    return {"X-Telegram-Bot-Api-Secret-Token": secret, "Content-Type": "application/json"}


def teams_activity(text: str = "<at>Bot</at> hi", *, activity_id: str = "1") -> dict[str, Any]:
    return {
        "type": "message",
        "id": activity_id,
        "timestamp": "2026-12-06T06:00:00.000Z",
        "serviceUrl": "https://smba.trafficmanager.net/emea/",
        "channelId": "msteams",
        "from": {"id": "29:user-1", "name": "Ann"},
        "conversation": {"id": "19:abc@thread.skype;messageid=1"},
        "text": text,
    }


def teams_headers(secret: str, body: bytes) -> dict[str, str]:
    mac = hmac.new(base64.b64decode(secret), body, hashlib.sha256).digest()
    return {"Authorization": f"HMAC {base64.b64encode(mac).decode()}"}


def encoded(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload).encode()


async def post(
    http: httpx.AsyncClient, path: str, body: bytes, headers: dict[str, str]
) -> httpx.Response:
    return await http.post(path, content=body, headers=headers)


async def answer(bus: Bus, message: Envelope, text: str, *, index: int = 0) -> Envelope:
    """Publish a reply to ``message`` on egress, as the runner does."""
    reply = Envelope.of(
        message_id=reply_id(message.message_id, index),
        tenant_id=message.tenant_id,
        env_id=message.env_id,
        team_id=message.team_id,
        channel_id=message.channel_id,
        session_id=message.session_id,
        user_id=message.user_id,
        role="assistant",
        text=text,
        in_reply_to=message.message_id,
        sent_at=datetime.now(UTC),
    )
    subject = reply.subject(names.Direction.EGRESS, prefix=bus.prefix)
    await bus.publish(subject, reply.encode(), message_id=reply.message_id)
    return reply


async def ingress(bus: Bus, tenant: str, *, wait: float = 0.0) -> list[Envelope]:
    """The tenant's ingress messages now on the bus, acknowledged."""
    found = []
    for delivery in await bus.fetch(names.Direction.INGRESS, tenant, "prod", batch=100, wait=wait):
        found.append(Envelope.decode(delivery.data))
        await delivery.ack()
    return found


def install_hooks(app: FastAPI, services: Services, *, reply_wait: float = 2.0) -> Hooks:
    """The app's hook service on the tests' clock."""
    made = Hooks(
        database.session_factory(services.engine),
        services.scopes,
        services.limits,
        services.ingress,
        services.bus,
        clock=lambda: NOW,
        reply_wait=reply_wait,
    )
    app.state.hooks = made
    return made
