"""The egress dispatcher against a local server speaking Slack's and Telegram's API: replies
sent with the tenant's own token to the conversation they answer, 429s waited out, failures
retried then dead-lettered, webchat and Teams acknowledged without a send."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from tenantry.backends.memory.bus import InProcessBus
from tenantry.bootstrap import Services
from tenantry.core import names
from tenantry.runtime.messaging.envelope import Envelope
from tenantry.tenancy.channels.sends import Sends
from tenantry.tenancy.registry import database
from tenantry.tenancy.registry.models import TenantRow
from tenantry.worker.egress import EgressDispatcher, Outcome
from tests.api.hooks.support import Keys, answer, world
from tests.integration.egress.fake_providers import FakeProviders, serving

SLACK_SESSION = "slack-c0001-u0001"
TELEGRAM_SESSION = "tg-n100123-u42"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def fake() -> AsyncIterator[FakeProviders]:
    async with serving() as found:
        yield found


@pytest.fixture
async def keys(wired: Services) -> dict[str, Keys]:
    return await world(wired)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def bus(clock: Clock) -> InProcessBus:
    return InProcessBus(now=clock)


@pytest.fixture
async def dispatcher(
    wired: Services, keys: dict[str, Keys], fake: FakeProviders, bus: InProcessBus
) -> AsyncIterator[EgressDispatcher]:
    settings = wired.settings.model_copy(
        update={"slack_api_url": f"{fake.url}/slack", "telegram_api_url": f"{fake.url}/telegram"}
    )
    made = EgressDispatcher(bus, wired.scopes, database.session_factory(wired.engine), settings)
    yield made
    await made._http.aclose()


def said(tenant: str, channel: str, session: str, text: str = "hi") -> Envelope:
    """A user's message (as ingress held it), for the runner's stand-in to answer."""
    return Envelope.of(
        message_id=f"m{abs(hash((tenant, channel, session, text))):x}",
        tenant_id=tenant,
        env_id="prod",
        team_id="support",
        channel_id=channel,
        session_id=session,
        user_id="someone",
        text=text,
        sent_at=datetime.now(UTC),
    )


async def test_a_slack_reply_is_posted_with_the_tenants_token_to_its_channel(
    dispatcher: EgressDispatcher, bus: InProcessBus, fake: FakeProviders, keys: dict[str, Keys]
) -> None:
    await answer(bus, said("acme", "slack", SLACK_SESSION), "Your order ships today.")
    assert await dispatcher.dispatch("acme", "prod") == [Outcome.SENT]
    [call] = fake.calls
    assert call.path == "/slack/chat.postMessage"
    assert call.headers["authorization"] == f"Bearer {keys['acme'].slack_token}"
    assert call.json == {"channel": "C0001", "text": "Your order ships today."}
    assert await dispatcher.dispatch("acme", "prod") == []  # acknowledged


async def test_a_telegram_reply_is_sent_to_its_chat(
    dispatcher: EgressDispatcher, bus: InProcessBus, fake: FakeProviders, keys: dict[str, Keys]
) -> None:
    await answer(bus, said("bigcorp", "telegram", TELEGRAM_SESSION), "Hallo")
    assert await dispatcher.dispatch("bigcorp", "prod") == [Outcome.SENT]
    [call] = fake.calls
    assert call.path == f"/telegram/bot{keys['bigcorp'].telegram_token}/sendMessage"
    assert call.json == {"chat_id": -100123, "text": "Hallo"}


async def test_each_tenants_replies_go_with_its_own_token(
    dispatcher: EgressDispatcher, bus: InProcessBus, fake: FakeProviders, keys: dict[str, Keys]
) -> None:
    for tenant in ("acme", "bigcorp"):
        await answer(bus, said(tenant, "slack", SLACK_SESSION), f"from {tenant}")
    assert await dispatcher.dispatch("bigcorp", "prod") == [Outcome.SENT]
    assert await dispatcher.dispatch("acme", "prod") == [Outcome.SENT]
    sent = {c.json["text"]: c.headers["authorization"] for c in fake.calls}
    assert sent == {
        "from bigcorp": f"Bearer {keys['bigcorp'].slack_token}",
        "from acme": f"Bearer {keys['acme'].slack_token}",
    }


async def test_webchat_and_teams_replies_are_acknowledged_without_a_send(
    dispatcher: EgressDispatcher, bus: InProcessBus, fake: FakeProviders
) -> None:
    await answer(bus, said("acme", "webchat", "web-1"), "on the page")
    await answer(bus, said("acme", "teams", "teams-1"), "in the response")
    assert await dispatcher.dispatch("acme", "prod") == [Outcome.SKIPPED, Outcome.SKIPPED]
    assert fake.calls == []
    assert await dispatcher.dispatch("acme", "prod") == []


@pytest.mark.parametrize(
    ("status", "body", "headers"),
    [
        (429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "7"}),
        (200, {"ok": False, "error": "ratelimited"}, {"Retry-After": "7"}),
    ],
)
async def test_slack_rate_limits_are_waited_out(
    dispatcher: EgressDispatcher,
    bus: InProcessBus,
    fake: FakeProviders,
    clock: Clock,
    status: int,
    body: dict[str, object],
    headers: dict[str, str],
) -> None:
    fake.then(status, body, headers)
    await answer(bus, said("acme", "slack", SLACK_SESSION), "patience")
    assert await dispatcher.dispatch("acme", "prod") == [Outcome.RETRY]
    clock.now += 6.9
    assert await dispatcher.dispatch("acme", "prod") == []  # Retry-After not over yet
    clock.now += 0.2
    assert await dispatcher.dispatch("acme", "prod") == [Outcome.SENT]
    assert [c.json["text"] for c in fake.calls] == ["patience", "patience"]


async def test_telegram_rate_limits_are_waited_out(
    dispatcher: EgressDispatcher, bus: InProcessBus, fake: FakeProviders, clock: Clock
) -> None:
    fake.then(
        429,
        {"ok": False, "error_code": 429, "description": "Too Many Requests: retry after 3",
         "parameters": {"retry_after": 3}},
    )  # fmt: skip
    await answer(bus, said("acme", "telegram", TELEGRAM_SESSION), "later")
    assert await dispatcher.dispatch("acme", "prod") == [Outcome.RETRY]
    clock.now += 2.9
    assert await dispatcher.dispatch("acme", "prod") == []
    clock.now += 0.2
    assert await dispatcher.dispatch("acme", "prod") == [Outcome.SENT]


async def test_a_sessions_replies_keep_their_order_through_a_rate_limit(
    dispatcher: EgressDispatcher, bus: InProcessBus, fake: FakeProviders, clock: Clock
) -> None:
    fake.then(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "2"})
    message = said("acme", "slack", SLACK_SESSION)
    await answer(bus, message, "one")
    await answer(bus, message, "two", index=1)
    assert await dispatcher.dispatch("acme", "prod") == [Outcome.RETRY, Outcome.RETRY]
    clock.now += 2.1
    assert await dispatcher.dispatch("acme", "prod") == [Outcome.SENT, Outcome.SENT]
    assert [c.json["text"] for c in fake.calls] == ["one", "one", "two"]


async def test_server_errors_are_retried_then_dead_lettered(
    wired: Services, dispatcher: EgressDispatcher, bus: InProcessBus, fake: FakeProviders,
    clock: Clock,
) -> None:  # fmt: skip
    attempts = wired.settings.egress_send_attempts
    for _ in range(attempts):
        fake.then(503, {"ok": False})
    await answer(bus, said("acme", "slack", SLACK_SESSION), "doomed")
    outcomes = []
    for _ in range(attempts):
        outcomes += await dispatcher.dispatch("acme", "prod")
        clock.now += 3600
    assert outcomes == [Outcome.RETRY] * (attempts - 1) + [Outcome.DEAD]
    [dead] = await bus.fetch(names.Direction.DEAD_LETTER, "acme", "prod", wait=0)
    assert Envelope.decode(dead.data).text == "doomed"
    assert await dispatcher.dispatch("acme", "prod") == []


async def test_a_refused_send_is_dead_lettered_at_once(
    dispatcher: EgressDispatcher, bus: InProcessBus, fake: FakeProviders
) -> None:
    fake.then(200, {"ok": False, "error": "channel_not_found"})
    await answer(bus, said("acme", "slack", SLACK_SESSION), "nowhere")
    assert await dispatcher.dispatch("acme", "prod") == [Outcome.DEAD]
    assert len(fake.calls) == 1


async def test_a_reply_whose_envelope_names_another_tenant_is_dead_lettered_unsent(
    dispatcher: EgressDispatcher, bus: InProcessBus, fake: FakeProviders
) -> None:
    forged = said("bigcorp", "slack", SLACK_SESSION)
    subject = names.subject(names.Direction.EGRESS, "acme", "prod", "support", "slack")
    await bus.publish(subject, forged.encode(), message_id=forged.message_id)
    await bus.publish(
        names.subject(names.Direction.EGRESS, "acme", "prod", "support", "webchat"),
        b"{not an envelope",
        message_id="garbage",
    )
    assert await dispatcher.dispatch("acme", "prod") == [Outcome.DEAD, Outcome.DEAD]
    assert fake.calls == []
    assert await dispatcher.dispatch("bigcorp", "prod") == []


async def test_a_session_without_a_provider_address_is_dead_lettered(
    dispatcher: EgressDispatcher, bus: InProcessBus, fake: FakeProviders
) -> None:
    await answer(bus, said("acme", "slack", "made-over-the-api"), "where to?")
    assert await dispatcher.dispatch("acme", "prod") == [Outcome.DEAD]
    assert fake.calls == []


async def test_suspended_tenants_are_not_served(
    wired: Services, dispatcher: EgressDispatcher, keys: dict[str, Keys]
) -> None:
    assert await dispatcher.serving() == [("acme", "prod"), ("bigcorp", "prod")]
    async with wired.engine.begin() as db:
        await db.execute(
            update(TenantRow).where(TenantRow.id == "acme").values(lifecycle_state="suspended")
        )
    assert await dispatcher.serving() == [("bigcorp", "prod")]


async def test_a_reply_published_again_past_the_dedup_window_is_not_sent_twice(
    dispatcher: EgressDispatcher, bus: InProcessBus, fake: FakeProviders, clock: Clock
) -> None:
    message = said("acme", "slack", SLACK_SESSION)
    await answer(bus, message, "just once")
    assert await dispatcher.dispatch("acme", "prod") == [Outcome.SENT]
    clock.now += bus.limits.dedup_window + 1  # the runner answers a redelivery, much later
    await answer(bus, message, "just once")
    assert await dispatcher.dispatch("acme", "prod") == [Outcome.ALREADY_SENT]
    assert len(fake.calls) == 1


async def test_the_record_of_sends_is_pruned_after_a_day(wired: Services) -> None:
    moments = [datetime(2026, 12, 1, tzinfo=UTC)]
    sends = Sends(database.session_factory(wired.engine), clock=lambda: moments[0])
    await sends.record("acme", "prod", "m1")
    await sends.record("acme", "prod", "m1")  # recorded once
    assert await sends.sent("acme", "prod", "m1")
    assert not await sends.sent("bigcorp", "prod", "m1")
    moments[0] += timedelta(days=1, seconds=1)
    await sends.record("acme", "prod", "m2")
    assert await sends.prune() == 1
    assert (await sends.sent("acme", "prod", "m1"), await sends.sent("acme", "prod", "m2")) == (
        False,
        True,
    )


async def test_the_running_dispatcher_reads_every_serving_tenant_environment(
    wired: Services, keys: dict[str, Keys], fake: FakeProviders
) -> None:
    bus = InProcessBus()  # on the monotonic clock: the readers long-poll
    settings = wired.settings.model_copy(update={"slack_api_url": f"{fake.url}/slack"})
    dispatcher = EgressDispatcher(
        bus, wired.scopes, database.session_factory(wired.engine), settings
    )
    stop = asyncio.Event()
    running = asyncio.create_task(dispatcher.run(stop=stop))
    for tenant in ("acme", "bigcorp"):
        await answer(bus, said(tenant, "slack", SLACK_SESSION), f"hello {tenant}")
    async with asyncio.timeout(10):
        while len(fake.calls) < 2:  # noqa: ASYNC110 - the fake server has no event
            await asyncio.sleep(0.02)
    stop.set()
    await running
    assert sorted(c.json["text"] for c in fake.calls) == ["hello acme", "hello bigcorp"]
