"""The egress dispatcher: reads each tenant environment's egress (its durable consumer) and
delivers every reply to its channel's provider, then acknowledges it.

Slack and Telegram replies are sent through httpx to the provider's API base URL (a setting);
webchat replies need no send (the page reads the session's transcript) and Teams replies were
answered in the webhook's own response, so both are acknowledged as they come. A provider's
429 puts the reply back for its ``Retry-After``; other transient failures back off and, after
``egress_send_attempts``, dead-letter the reply, as does a refusal that no retry can change.
Replies of one session are sent one at a time, in order. Suspended tenants are not read: their
replies wait on the bus until they resume.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import hashlib
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import httpx
from sqlalchemy import select

from tenantry.bootstrap import Services
from tenantry.core import names
from tenantry.core.errors import Locked, TenantryError
from tenantry.core.logging import get_logger
from tenantry.core.settings import Settings
from tenantry.runtime.messaging.envelope import Envelope
from tenantry.runtime.messaging.ports import Bus, Delivery
from tenantry.runtime.messaging.providers import provider_of
from tenantry.runtime.messaging.providers.schemas import Outbound, Provider
from tenantry.tenancy.channels.sends import Sends
from tenantry.tenancy.lifecycle import states
from tenantry.tenancy.registry import database
from tenantry.tenancy.registry.database import SessionFactory
from tenantry.tenancy.registry.errors import translated
from tenantry.tenancy.registry.models import ChannelRow, EnvironmentRow, TenantRow
from tenantry.tenancy.scopes import Scopes
from tenantry.worker.context import context_of_subject

log = get_logger(__name__)
BATCH: Final = 32
POLL: Final = 1.0  # seconds a reader's fetch waits for a reply
REFRESH: Final = 5.0  # seconds between reads of which tenant environments to serve
PRUNE: Final = 600.0  # seconds between prunes of the record of sends
HELD_DELAY: Final = 30.0  # seconds before a suspended tenant's reply is looked at again
TIMEOUT: Final = httpx.Timeout(10.0, connect=5.0)
_TRANSIENT_SLACK: Final = frozenset(
    {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)


class Outcome(enum.StrEnum):
    """What became of one reply."""

    SENT = "sent"
    SKIPPED = "skipped"  # acknowledged without a send (webchat, Teams)
    ALREADY_SENT = "already-sent"  # published again past the bus's deduplication window
    RETRY = "retry"
    DEAD = "dead-lettered"
    HELD = "held"


@dataclass(frozen=True, slots=True)
class _Retry(Exception):
    delay: float | None  # None: the bus's backoff
    reason: str


@dataclass(frozen=True, slots=True)
class _Refused(Exception):
    reason: str


class EgressDispatcher:
    def __init__(
        self,
        bus: Bus,
        scopes: Scopes,
        sessions: SessionFactory,
        settings: Settings,
        *,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self._bus, self._scopes, self._sessions, self._settings = bus, scopes, sessions, settings
        self._own_http = http is None
        self._http = http or httpx.AsyncClient(timeout=TIMEOUT, follow_redirects=False)
        self._sends = Sends(sessions)
        self._retiring: set[asyncio.Task[None]] = set()  # readers of tenants no longer served
        self._bases = {"slack": settings.slack_api_url, "telegram": settings.telegram_api_url}

    @classmethod
    def of(cls, services: Services, *, http: httpx.AsyncClient | None = None) -> EgressDispatcher:
        sessions = database.session_factory(services.engine)
        return cls(services.bus, services.scopes, sessions, services.settings, http=http)

    async def run(self, *, stop: asyncio.Event) -> None:
        """Serve every serving tenant environment's egress, round-robin, until ``stop``."""
        try:
            await self._serve(stop)
        finally:
            if self._own_http:
                await self._http.aclose()

    async def _serve(self, stop: asyncio.Event) -> None:
        """One reader per serving tenant environment (a long poll of its egress), started and
        stopped as tenants come, go, are suspended or resume."""
        readers: dict[tuple[str, str], tuple[asyncio.Event, asyncio.Task[None]]] = {}
        pruned = float("-inf")
        try:
            while not stop.is_set():
                try:
                    self._follow(readers, set(await self.serving()))
                except Exception as error:  # the loop outlives a bad read
                    log.warning("egress.serving_failed", error=repr(error)[:200])
                if time.monotonic() - pruned > PRUNE:
                    with contextlib.suppress(TenantryError):
                        await self._sends.prune()
                        pruned = time.monotonic()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=REFRESH)
        finally:
            for ended, _ in readers.values():
                ended.set()
            tasks = [task for _, task in readers.values()] + list(self._retiring)
            await asyncio.gather(*tasks, return_exceptions=True)

    def _follow(
        self,
        readers: dict[tuple[str, str], tuple[asyncio.Event, asyncio.Task[None]]],
        serving: set[tuple[str, str]],
    ) -> None:
        for key in [key for key in readers if key not in serving]:
            ended, task = readers.pop(key)
            ended.set()  # the reader finishes the replies it holds, then stops
            self._retiring.add(task)
            task.add_done_callback(self._retiring.discard)
        for key in serving - set(readers):
            ended = asyncio.Event()
            readers[key] = (ended, asyncio.create_task(self._read(*key, stop=ended)))

    async def _read(self, tenant: str, env: str, *, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.dispatch(tenant, env, wait=POLL)
            except Exception as error:  # a reader outlives a failed round
                log.warning(
                    "egress.read_failed", tenant_id=tenant, env=env, error=repr(error)[:200]
                )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=POLL)

    async def serving(self) -> list[tuple[str, str]]:
        """The tenant environments whose tenants may run now and have channels."""
        query = (
            select(EnvironmentRow.tenant_id, EnvironmentRow.id, TenantRow.lifecycle_state)
            .join(TenantRow, TenantRow.id == EnvironmentRow.tenant_id)
            .where(EnvironmentRow.tenant_id.in_(select(ChannelRow.tenant_id)))
            .order_by(EnvironmentRow.tenant_id, EnvironmentRow.id)
        )
        async with translated(), self._sessions() as session:
            rows = (await session.execute(query)).all()
        return [(t, e) for t, e, state in rows if states.refusal(t, state) is None]

    async def dispatch(self, tenant: str, env: str, *, wait: float = 0.0) -> list[Outcome]:
        """Deliver the replies waiting on the tenant environment's egress; their outcomes."""
        deliveries = await self._bus.fetch(
            names.Direction.EGRESS, tenant, env, batch=BATCH, wait=wait
        )
        by_session: dict[str, list[Delivery]] = {}
        for delivery in deliveries:
            by_session.setdefault(_session_of(delivery), []).append(delivery)
        done = await asyncio.gather(*(self._in_order(group) for group in by_session.values()))
        return [outcome for group in done for outcome in group]

    async def _in_order(self, group: Sequence[Delivery]) -> list[Outcome]:
        """One session's replies in turn; once one must wait, the later ones wait with it."""
        outcomes: list[Outcome] = []
        for index, delivery in enumerate(group):
            outcome = await self.handle(delivery)
            outcomes.append(outcome)
            if outcome in (Outcome.RETRY, Outcome.HELD):
                for later in group[index + 1 :]:
                    await later.nak(delay=0.0 if outcome == Outcome.RETRY else HELD_DELAY)
                    outcomes.append(outcome)
                break
        return outcomes

    async def handle(self, delivery: Delivery) -> Outcome:
        try:
            envelope = Envelope.decode(delivery.data)
            envelope.check_subject(delivery.subject, prefix=self._bus.prefix)
        except TenantryError as error:
            return await self._dead_letter(delivery, error.code)
        provider = await self._provider(envelope)
        if provider is None or provider.token_key is None:
            await delivery.ack()  # webchat, Teams: nothing to send
            return Outcome.SKIPPED
        return await self._deliver(delivery, provider, envelope)

    async def _deliver(self, delivery: Delivery, provider: Provider, envelope: Envelope) -> Outcome:
        if await self._sends.sent(envelope.tenant_id, envelope.env_id, envelope.message_id):
            await delivery.ack()
            return Outcome.ALREADY_SENT
        try:
            await self._send(delivery, provider, envelope)
        except _Retry as retry:
            return await self._retry(delivery, retry)
        except _Refused as refused:
            return await self._dead_letter(delivery, refused.reason)
        except Locked:  # suspended since it was fetched: held until it resumes
            await delivery.nak(delay=HELD_DELAY)
            return Outcome.HELD
        except TenantryError as error:
            return await self._dead_letter(delivery, error.code)
        await self._sends.record(envelope.tenant_id, envelope.env_id, envelope.message_id)
        await delivery.ack()
        log.info("egress.sent", message_id=envelope.message_id, provider=provider.name)
        return Outcome.SENT

    async def _provider(self, envelope: Envelope) -> Provider | None:
        key = (envelope.tenant_id, envelope.team_id, envelope.channel_id)
        async with self._sessions() as session:
            row = await session.get(ChannelRow, key)
        return None if row is None else provider_of(row.provider)

    async def _send(self, delivery: Delivery, provider: Provider, envelope: Envelope) -> None:
        ctx = context_of_subject(delivery.subject, prefix=self._bus.prefix)
        scope = await self._scopes.open(ctx)
        async with self._sessions() as session:
            row = await session.get(
                ChannelRow, (envelope.tenant_id, envelope.team_id, envelope.channel_id)
            )
        config: dict[str, Any] = dict(row.config or {}) if row is not None else {}
        name = config.get(provider.token_key or "", provider.default_token)
        if not isinstance(name, str):
            raise _Refused(f"channel names no {provider.token_key}")
        token = (await scope.team.secrets.get(name)).value.reveal_text()
        outbound = provider.reply(envelope.session_id, envelope.text, token)
        if outbound is None:
            raise _Refused("no address for the session, or a malformed token")
        await self._post(provider, outbound)

    async def _post(self, provider: Provider, outbound: Outbound) -> None:
        url = self._bases[provider.name].rstrip("/") + outbound.path
        try:
            response = await self._http.post(
                url, json=dict(outbound.json), headers=dict(outbound.headers)
            )
        except httpx.HTTPError as error:
            raise _Retry(None, f"{type(error).__name__}") from None
        _judge(provider.name, response)

    async def _retry(self, delivery: Delivery, retry: _Retry) -> Outcome:
        if delivery.attempt >= self._settings.egress_send_attempts:
            return await self._dead_letter(delivery, f"gave up: {retry.reason}")
        await delivery.nak(delay=retry.delay)
        log.info("egress.retry", reason=retry.reason, attempt=delivery.attempt)
        return Outcome.RETRY

    async def _dead_letter(self, delivery: Delivery, reason: str) -> Outcome:
        """Keep the reply under the dead-letter subject, then never deliver it again."""
        try:
            subject = names.dead_letter_subject(delivery.subject, prefix=self._bus.prefix)
            digest = hashlib.sha256(delivery.subject.encode() + delivery.data).hexdigest()
            await self._bus.publish(subject, delivery.data, message_id=f"dl-{digest[:40]}")
        except TenantryError as error:
            log.warning("egress.dead_letter_failed", code=error.code)
            await delivery.nak()
            return Outcome.RETRY
        await delivery.term()
        log.warning("egress.dead_lettered", subject=delivery.subject, reason=reason)
        return Outcome.DEAD


def _judge(provider: str, response: httpx.Response) -> None:
    """Raise unless the provider took the message: :class:`_Retry` for what may pass (429
    with its ``Retry-After``, 5xx, Slack's transient errors), :class:`_Refused` otherwise."""
    body = _json(response)
    if response.status_code == 429:
        raise _Retry(_retry_after(response, body), "rate limited")
    if response.status_code >= 500:
        raise _Retry(None, f"HTTP {response.status_code}")
    if response.status_code >= 400:
        raise _Refused(f"HTTP {response.status_code}: {str(body.get('description', ''))[:200]}")
    if body.get("ok") is True:
        return
    error = str(body.get("error", "no ok in the answer"))[:200]
    if provider == "slack" and error in _TRANSIENT_SLACK:
        raise _Retry(_retry_after(response, body), error)
    raise _Refused(error)


def _retry_after(response: httpx.Response, body: dict[str, Any]) -> float | None:
    """Slack's ``Retry-After`` header, or Telegram's ``parameters.retry_after``, bounded."""
    given: object = response.headers.get("retry-after")
    parameters = body.get("parameters")
    if given is None and isinstance(parameters, dict):
        given = parameters.get("retry_after")
    try:
        seconds = float(str(given))
    except ValueError:
        return None
    return None if math.isnan(seconds) else min(max(seconds, 0.0), 3600.0)


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        found = response.json()
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


def _session_of(delivery: Delivery) -> str:
    try:
        return Envelope.decode(delivery.data).session_id
    except TenantryError:
        return f"undecodable-{id(delivery)}"
