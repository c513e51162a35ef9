"""``call`` and ``llm`` against local servers (loopback allowed explicitly): secrets injected by
name from the tenant's own store, idempotency keys from the message id, tokens metered and the
cap enforced."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tenantry.bootstrap import Services, services
from tenantry.core.settings import Settings
from tenantry.runtime.flows.effects import idempotency_key
from tenantry.tenancy.limits.schemas import AiTokensSpec, LimitsSpec
from tests.integration.flows.fakes import serving
from tests.integration.flows.support import active, flow, message, new_session, scope_of, spec


@pytest.fixture
async def loopback(settings: Settings) -> AsyncIterator[Services]:
    allowed = settings.model_copy(update={"flow_egress_allow": ["127.0.0.1/32"]})
    async with services(allowed) as built:
        yield built


def _call(**config: Any) -> dict[str, Any]:
    return {"id": "lookup", "type": "call", "config": config}


async def test_call_injects_the_secret_by_name_and_an_idempotency_key(loopback: Services) -> None:
    with serving() as (base, seen):
        await active(loopback, acme=spec("ACME", settings={"crm_url": base}))
        scope = await scope_of(loopback, "acme")
        await scope.team.secrets.put("crm-token", "acme-crm-secret")
        f = flow(
            _call(url="{{ settings.crm_url }}/orders/{{ input }}", secret="crm-token", save_as="o"),
            {"id": "say", "type": "reply", "config": {"message": "order {{ vars.o.json.order }}"}},
        )
        session = await new_session(scope)
        sent = message(scope, session, "42")
        turn = await loopback.flow_engine.run(scope, f, session, sent)
        again = await loopback.flow_engine.run(scope, f, session, sent)  # a redelivery
    assert turn.replies == again.replies == ("order 42",)
    keys = {r["headers"]["Idempotency-Key"] for r in seen.requests}
    assert keys == {idempotency_key(sent.message_id, "lookup")}
    assert seen.requests[0]["headers"]["Authorization"] == "Bearer acme-crm-secret"


async def test_a_flow_cannot_read_another_tenants_secret(loopback: Services) -> None:
    with serving() as (base, seen):
        await active(loopback, acme=spec("ACME"), bigcorp=spec("BigCorp"))
        theirs = await scope_of(loopback, "bigcorp")
        await theirs.team.secrets.put("crm-token", "bigcorp-secret")
        await theirs.team.state.set("s1", {"balance": "bigcorp-state"})
        scope = await scope_of(loopback, "acme")
        f = flow(
            _call(url=f"{base}/x", secret="crm-token", save_as="o"),
            {"id": "say", "type": "reply", "config": {"message": "{{ vars.o.ok }}|{{ state }}"}},
        )
        session = await new_session(scope)
        turn = await loopback.flow_engine.run(scope, f, session, message(scope, session, "x"))
    assert turn.replies == ("False|{}",)  # no secret of its own: not sent; B's state unseen
    assert seen.requests == []
    assert "bigcorp" not in str(turn.variables)


async def test_call_times_out_into_a_result_the_flow_can_read(loopback: Services) -> None:
    with serving() as (base, seen):
        seen.delay = 1.0
        await active(loopback, acme=spec("ACME"))
        scope = await scope_of(loopback, "acme")
        f = flow(
            _call(url=f"{base}/slow", timeout=0.2, save_as="o"),
            {"id": "say", "type": "reply", "config": {"message": "{{ vars.o.error }}"}},
        )
        session = await new_session(scope)
        turn = await loopback.flow_engine.run(scope, f, session, message(scope, session, "x"))
    assert "Timeout" in turn.replies[0]


async def test_the_default_settings_refuse_loopback(wired: Services) -> None:
    with serving() as (base, seen):
        await active(wired, acme=spec("ACME"))
        scope = await scope_of(wired, "acme")
        f = flow(_call(url=f"{base}/x", save_as="o"))
        session = await new_session(scope)
        turn = await wired.flow_engine.run(scope, f, session, message(scope, session, "x"))
    assert turn.variables["o"]["ok"] is False and "public" in turn.variables["o"]["error"]
    assert seen.requests == []


def _llm(base: str, **config: Any) -> dict[str, Any]:
    return {
        "id": "ask_ai",
        "type": "llm",
        "config": {"base_url": base, "prompt": "{{ input }}", **config},
    }


async def test_llm_answers_and_its_tokens_are_metered_once(loopback: Services) -> None:
    with serving() as (base, seen):
        await active(loopback, acme=spec("ACME"))
        scope = await scope_of(loopback, "acme")
        await scope.team.secrets.put("llm-api-key", "sk-acme")
        f = flow(_llm(f"{base}/v1", system="Be brief"))
        session = await new_session(scope)
        sent = message(scope, session, "hello")
        turn = await loopback.flow_engine.run(scope, f, session, sent)
        await loopback.flow_engine.run(scope, f, session, sent)  # redelivered: charged once
    assert turn.replies == ("echo: hello",)
    request = seen.requests[0]
    assert request["headers"]["Authorization"] == "Bearer sk-acme"
    assert request["body"]["messages"][0] == {"role": "system", "content": "Be brief"}
    assert (await loopback.meters.allowance("acme")).used == 30


async def test_llm_is_refused_past_the_cap(loopback: Services) -> None:
    with serving() as (base, seen):
        capped = spec("ACME").model_copy(
            update={"limits": LimitsSpec(ai_tokens=AiTokensSpec(cap=50))}
        )
        await active(loopback, acme=capped)
        scope = await scope_of(loopback, "acme")
        await scope.team.secrets.put("llm-api-key", "sk-acme")
        f = flow(_llm(f"{base}/v1", fallback="over the cap"))
        session = await new_session(scope)
        replies = [
            (await loopback.flow_engine.run(scope, f, session, message(scope, session, t))).replies
            for t in ("one", "two", "three")
        ]
    assert replies == [("echo: one",), ("over the cap",), ("over the cap",)]
    assert len(seen.requests) == 2  # the second was sent (20 left), its 30 refused: 20 charged
    assert (await loopback.meters.allowance("acme")).used == 50  # the third is never sent
    assert seen.requests[1]["body"]["max_tokens"] == 20  # asked for no more than was left
