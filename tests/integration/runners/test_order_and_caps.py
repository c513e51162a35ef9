"""Messages of one session are processed one at a time, in order, however many pools pull
them; a tenant never runs more than its ``max_flow_executions`` at once."""

from __future__ import annotations

from tenantry.bootstrap import flow_slots
from tenantry.core import names
from tenantry.runtime.messaging.envelope import Envelope
from tests.integration.runners.conftest import SlowEngine, Stack, pool_of, running, until


async def test_two_pools_keep_a_sessions_order(stack: Stack) -> None:
    first = await stack.send(stack.shared, "slow first")
    session = first.session_id
    for text in ("second", "third", "fourth"):
        await stack.send(stack.shared, text, session=session)
    engine = SlowEngine()
    async with flow_slots(stack.wired.settings, stack.wired.limits) as slots:
        one = pool_of(stack.wired, "shared", slots, engine=engine)
        two = pool_of(stack.wired, "shared", slots, engine=engine)
        async with running(one, two):
            await until(lambda: _replied(stack, session, 4))
    record = await stack.session(stack.shared, session)
    said = [(entry.role, entry.text) for entry in record.transcript]
    assert said == [
        ("user", "slow first"),
        ("assistant", "re:slow first"),
        ("user", "second"),
        ("assistant", "re:second"),
        ("user", "third"),
        ("assistant", "re:third"),
        ("user", "fourth"),
        ("assistant", "re:fourth"),
    ]
    assert [entry.data["seq"] for entry in record.transcript if entry.role == "user"] == [
        1,
        2,
        3,
        4,
    ]
    egress = await stack.wired.bus.fetch(
        names.Direction.EGRESS, stack.shared, "prod", batch=100, wait=0
    )
    assert sorted(Envelope.decode(d.data).text for d in egress) == sorted(
        f"re:{text}" for text in ("slow first", "second", "third", "fourth")
    )


async def test_a_tenant_runs_at_most_its_flow_executions(stack: Stack) -> None:
    sessions = [(await stack.send(stack.shared, f"slow {n}")).session_id for n in range(6)]
    quiet = await stack.send(stack.dedicated, "slow too")
    engine = SlowEngine()
    async with flow_slots(stack.wired.settings, stack.wired.limits) as slots:
        pools = [pool_of(stack.wired, "*", slots, engine=engine) for _ in range(2)]
        async with running(*pools):
            for session in sessions:
                await until(lambda s=session: _replied(stack, s, 1))  # type: ignore[misc]
            await until(lambda: _replied(stack, quiet.session_id, 1, stack.dedicated))
    assert engine.most[stack.shared] == 2  # its limit (the bundle sets 2), over both pools
    assert engine.most[stack.dedicated] == 1


async def _replied(stack: Stack, session: str, count: int, tenant: str | None = None) -> bool:
    return len(await stack.replies(tenant or stack.shared, session)) >= count
