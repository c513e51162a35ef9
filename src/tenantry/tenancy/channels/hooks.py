"""``/hooks/{tenant}/{env}/{team}/{channel}``: a provider's request, verified with the secret
the channel's ``config`` names (the team's, else the tenant's), then accepted onto ingress.

Order: a client address whose refusal holds is refused from memory; the channel and its secret
are found and the signature checked (any failure, including an unknown tenant, team or
channel, is the same 401, and counts against the client address, never the tenant); only a
verified request is taken from the tenant's rate limit. A suspended tenant's verified message
is accepted and held (its scope opens for holding); Teams waits for the reply in its response.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from tenantry.core import ids, names
from tenantry.core.context import TenantCtx
from tenantry.core.errors import (
    Conflict,
    Gone,
    InvalidInput,
    Locked,
    NotFound,
    TenantryError,
    Unauthenticated,
)
from tenantry.core.logging import get_logger
from tenantry.runtime.messaging.envelope import Envelope
from tenantry.runtime.messaging.ingress import Inbound, Ingress
from tenantry.runtime.messaging.ports import Bus, Message
from tenantry.runtime.messaging.providers import provider_of, teams
from tenantry.runtime.messaging.providers.errors import HookSignatureInvalid
from tenantry.runtime.messaging.providers.schemas import (
    Answer,
    HookRequest,
    Provider,
    UserMessage,
    message_id_of,
)
from tenantry.runtime.scope import TenantScope
from tenantry.runtime.sessions.errors import SessionExists, SessionNotFound
from tenantry.tenancy.access.errors import TeamNotFound
from tenantry.tenancy.limits.doors import DoorKind, digest
from tenantry.tenancy.limits.schemas import RouteClass
from tenantry.tenancy.limits.service import LimitsService
from tenantry.tenancy.registry.database import SessionFactory
from tenantry.tenancy.registry.models import ChannelRow
from tenantry.tenancy.scopes import Scopes

log = get_logger(__name__)
REPLY_SETTLE: Final = 0.25  # seconds more replies may follow the first one in a Teams answer
# What an unverifiable hook may not tell apart: each is answered as a bad signature.
_UNVERIFIABLE: Final = (Unauthenticated, NotFound, Locked, Gone, Conflict, TeamNotFound)


@dataclass(frozen=True, slots=True)
class HookPath:
    tenant: str
    env: str
    team: str
    channel: str


@dataclass(frozen=True, slots=True)
class SignedHook:
    """A webhook request verified with its channel's secret: the proof the route holds."""

    ctx: TenantCtx
    scope: TenantScope
    channel_id: ids.ChannelId
    provider: Provider
    config: Mapping[str, Any]
    request: HookRequest


class Hooks:
    def __init__(
        self,
        sessions: SessionFactory,
        scopes: Scopes,
        limits: LimitsService,
        ingress: Ingress,
        bus: Bus,
        *,
        clock: Callable[[], float] = time.time,
        reply_wait: float = 4.5,
    ) -> None:
        self._sessions, self._scopes, self._limits = sessions, scopes, limits
        self._ingress, self._bus, self._clock, self.reply_wait = ingress, bus, clock, reply_wait

    async def verify(
        self, path: HookPath, request: HookRequest, *, address: str, correlation_id: str | None
    ) -> SignedHook:
        """The verified hook, or 401 (429 once the client address is over its limit)."""
        doors, key = self._limits.doors, digest(address)
        refused = doors.refusal(DoorKind.ADDRESS, key)
        if refused is not None:
            raise refused
        try:
            hook = await self._verified(path, request, correlation_id)
        except (*_UNVERIFIABLE, InvalidInput) as error:
            await doors.admit(DoorKind.ADDRESS, key)  # 429 past the address's limit
            log.info("hook.refused", code=error.code, address_key=key)
            if isinstance(error, Unauthenticated | ids.InvalidId):
                raise
            raise HookSignatureInvalid("the request carries no valid signature") from None
        await self._limits.admit_tenant(hook.ctx.tenant_id, RouteClass.DEFAULT)
        return hook

    async def _verified(
        self, path: HookPath, request: HookRequest, correlation_id: str | None
    ) -> SignedHook:
        team = ids.team_id(path.team)
        ctx = TenantCtx(
            tenant_id=ids.tenant_id(path.tenant),
            env_id=ids.env_id(path.env),
            team_id=None if team == ids.DEFAULT_TEAM else team,
            correlation_id=correlation_id,
        )
        channel = ids.channel_id(path.channel)
        async with self._sessions() as session:
            row = await session.get(ChannelRow, (ctx.tenant_id, ctx.team, channel))
        provider = None if row is None else provider_of(row.provider)
        if row is None or provider is None:
            raise HookSignatureInvalid(f"channel {channel!r} takes no provider webhooks")
        config = dict(row.config or {})
        scope = await self._scopes.open_holding(ctx)
        name = config.get(provider.secret_key, provider.default_secret)
        if not isinstance(name, str):
            raise HookSignatureInvalid(f"channel {channel!r} names no {provider.secret_key}")
        secret = await scope.team.secrets.get(name)
        provider.verify(request, secret.value.reveal_text(), now=self._clock())
        return SignedHook(ctx, scope, channel, provider, config, request)

    async def accept(self, hook: SignedHook) -> Answer:
        """Publish the hook's user message on ingress (once per provider event, however
        often the provider retries); Teams' answer carries the replies ready in time."""
        parsed = hook.provider.parse(hook.request.body, hook.config)
        if isinstance(parsed, Answer):
            return parsed
        await _conversation(hook, parsed)
        inbound = Inbound(
            channel_id=hook.channel_id,
            user_id=parsed.user_id,
            text=parsed.text,
            session_id=parsed.session_id,
            message_id=message_id_of(
                hook.provider.name, hook.ctx.team, hook.channel_id, parsed.event_id
            ),
            sent_at=parsed.sent_at,
        )
        if hook.provider.name != teams.TEAMS.name:
            accepted = await self._ingress.accept(hook.scope, inbound)
            return Answer(reason=f"accepted {accepted.message_id}")
        return await self._answered(hook, inbound)

    async def _answered(self, hook: SignedHook, inbound: Inbound) -> Answer:
        """Listen on the channel's egress before publishing, so no reply is missed."""
        ctx, prefix = hook.ctx, self._bus.prefix
        subject = names.subject(
            names.Direction.EGRESS, ctx.tenant_id, ctx.env_id, ctx.team_id, hook.channel_id,
            prefix=prefix,
        )  # fmt: skip
        async with self._bus.listen(subject) as replies:
            accepted = await self._ingress.accept(hook.scope, inbound)
            texts = await replies_to(
                replies, accepted.message_id, prefix=prefix, wait=self.reply_wait
            )
        return Answer(teams.answer(texts), reason="answered")


async def _conversation(hook: SignedHook, message: UserMessage) -> None:
    """The conversation's session, made on its first message."""
    sessions = hook.scope.team.sessions
    try:
        await sessions.get(message.session_id)
    except SessionNotFound:
        with contextlib.suppress(SessionExists):  # made by a concurrent retry of the message
            await sessions.create(message.session_id, channel=hook.channel_id, user=message.user_id)


async def replies_to(
    replies: AsyncIterator[Message], message_id: str, *, prefix: str, wait: float
) -> list[str]:
    """The texts of the replies to ``message_id`` heard within ``wait`` seconds (and
    :data:`REPLY_SETTLE` after the first), in their order."""
    loop = asyncio.get_running_loop()
    deadline, found = loop.time() + wait, dict[int, str]()
    while (remaining := deadline - loop.time()) > 0:
        try:
            heard = await asyncio.wait_for(anext(replies), remaining)
        except (TimeoutError, StopAsyncIteration):
            break
        try:
            envelope = Envelope.decode(heard.data)
            envelope.check_subject(heard.subject, prefix=prefix)
        except TenantryError:
            continue
        if envelope.in_reply_to == message_id and envelope.role == "assistant":
            found[_index(envelope.message_id)] = envelope.text
            deadline = min(deadline, loop.time() + REPLY_SETTLE)
    return [found[index] for index in sorted(found)]


def _index(reply: str) -> int:
    _, _, index = reply.rpartition("-r")
    return int(index) if index.isdigit() else 0
