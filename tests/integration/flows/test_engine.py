"""The engine, node type by node type, on real scopes (both defaults)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tenantry.bootstrap import Services
from tenantry.runtime.flows.engine import FlowEngine
from tenantry.runtime.flows.errors import FlowFailed
from tenantry.runtime.flows.model import FlowDef
from tenantry.runtime.flows.turns import outgoing
from tenantry.tenancy.manifests.schemas import Flow
from tests.integration.flows.support import active, flow, message, new_session, say, scope_of, spec

SPEC_FLOW = Path(__file__).parents[3] / "examples" / "spec" / "acme_support_flow.yaml"


def texts(session: object) -> list[str]:
    return [entry.text for entry in outgoing(session)]  # type: ignore[arg-type]


async def test_the_specs_one_node_flow_answers_every_message(wired: Services) -> None:
    await active(wired, acme=spec("ACME"))
    scope = await scope_of(wired, "acme")
    document = yaml.safe_load(SPEC_FLOW.read_text())
    f = FlowDef.of(Flow.model_validate(document).model_dump(mode="json"))  # as apply stores it
    session = await new_session(scope)
    session = await say(wired, scope, f, session, "hi")
    session = await say(wired, scope, f, session, "again")
    assert texts(session) == ["Welcome to ACME Support! How can I help?"] * 2
    assert session.cursor is None


async def test_ask_keeps_the_cursor_and_saves_the_answer(wired: Services) -> None:
    await active(wired, acme=spec("ACME", settings={"company": "ACME"}))
    scope = await scope_of(wired, "acme")
    f = flow(
        {"id": "hello", "type": "reply", "config": {"message": "Hi from {{ settings.company }}"}},
        {"id": "name", "type": "ask", "config": {"message": "Your name?", "save_as": "name"}},
        {"id": "thanks", "type": "reply", "config": {"message": "Thanks {{ vars.name }}"}},
    )
    session = await say(wired, scope, f, await new_session(scope), "hello")
    assert texts(session) == ["Hi from ACME", "Your name?"]
    assert session.cursor is not None and session.cursor.node == "name"
    session = await say(wired, scope, f, session, "Ada")
    assert texts(session)[2:] == ["Thanks Ada"]
    assert session.cursor is None and session.variables["name"] == "Ada"


async def test_set_writes_variables_and_the_teams_state(wired: Services) -> None:
    await active(wired, acme=spec("ACME"))
    scope = await scope_of(wired, "acme")
    f = flow(
        {
            "id": "remember",
            "type": "set",
            "config": {
                "variables": {"last": "{{ input }}"},
                "state": {"topic": "{{ input|upper }}"},
            },
        },
        {"id": "echo", "type": "reply", "config": {"message": "{{ vars.last }}/{{ state.topic }}"}},
    )
    session = await say(wired, scope, f, await new_session(scope), "billing")
    assert texts(session) == ["billing/BILLING"]
    assert await scope.team.state.get("s1") == {"topic": "BILLING"}


@pytest.mark.parametrize(
    ("text", "answer"),
    [("I need a REFUND now", "money"), ("order #12345", "order"), ("hello", "other")],
)
async def test_branch_routes_on_keywords_and_regex_with_a_default(
    wired: Services, text: str, answer: str
) -> None:
    await active(wired, acme=spec("ACME"))
    scope = await scope_of(wired, "acme")
    f = flow(
        {
            "id": "route",
            "type": "branch",
            "config": {
                "cases": [
                    {"keywords": ["refund", "invoice"], "next": "money"},
                    {"regex": r"#\d{5}\b", "next": "order"},
                ],
                "default": "other",
            },
        },
        {"id": "money", "type": "reply", "next": "done", "config": {"message": "money"}},
        {"id": "order", "type": "reply", "next": "done", "config": {"message": "order"}},
        {"id": "other", "type": "reply", "config": {"message": "other"}},
        {"id": "done", "type": "end"},
    )
    session = await say(wired, scope, f, await new_session(scope), text)
    assert texts(session) == [answer]


async def test_handoff_and_end_close_the_turn(wired: Services) -> None:
    await active(wired, acme=spec("ACME"))
    scope = await scope_of(wired, "acme")
    session = await new_session(scope)
    handoff = flow(
        {"id": "h", "type": "handoff", "config": {"message": "A human will answer", "to": "tier2"}},
        {"id": "never", "type": "reply", "config": {"message": "unreachable"}},
    )
    turn = await wired.flow_engine.run(scope, handoff, session, message(scope, session, "x"))
    assert turn.replies == ("A human will answer",) and turn.handoff is not None
    assert turn.handoff["to"] == "tier2" and turn.cursor is None and not turn.ended
    end = flow({"id": "bye", "type": "end", "config": {"message": "Bye"}})
    turn = await wired.flow_engine.run(scope, end, session, message(scope, session, "x"))
    assert turn.replies == ("Bye",) and turn.ended


async def test_templates_run_in_a_sandbox(wired: Services) -> None:
    await active(wired, acme=spec("ACME"))
    scope = await scope_of(wired, "acme")
    session = await new_session(scope)
    unsafe = flow({"id": "r", "type": "reply", "config": {"message": "[{{ input.__class__ }}]"}})
    turn = await wired.flow_engine.run(scope, unsafe, session, message(scope, session, "x"))
    assert turn.replies == ("[]",)  # the sandbox hides what starts with _
    for source in ["{{ input.__class__.__mro__ }}", "{{ 'x' * 10000000 }}", "{{ 9 ** 999999 }}"]:
        f = flow({"id": "r", "type": "reply", "config": {"message": source}})
        with pytest.raises(FlowFailed):
            await wired.flow_engine.run(scope, f, session, message(scope, session, "x"))


async def test_a_waiting_conversation_follows_a_new_version(wired: Services) -> None:
    await active(wired, acme=spec("ACME"))
    scope = await scope_of(wired, "acme")
    ask = {"id": "q", "type": "ask", "config": {"message": "v1 asks", "save_as": "a"}}
    v1 = flow(ask, {"id": "r", "type": "reply", "config": {"message": "v1 got {{ vars.a }}"}})
    session = await say(wired, scope, v1, await new_session(scope), "hi")
    kept = flow(ask, {"id": "r", "type": "reply", "config": {"message": "v2 got {{ vars.a }}"}})
    resumed = await say(wired, scope, kept, session, "x")
    assert texts(resumed)[-1] == "v2 got x"
    gone = flow({"id": "top", "type": "reply", "config": {"message": "v3 from the top"}})
    waiting = await say(wired, scope, kept, resumed, "again")  # waits on q again
    restarted = await say(wired, scope, gone, waiting, "y")
    assert texts(restarted)[-1] == "v3 from the top"


async def test_the_loop_guard_bounds_the_nodes_of_one_turn(wired: Services) -> None:
    await active(wired, acme=spec("ACME"))
    scope = await scope_of(wired, "acme")
    session = await new_session(scope)
    three = flow(*({"id": f"n{i}", "type": "reply", "config": {"message": "x"}} for i in range(3)))
    with pytest.raises(FlowFailed, match="ran 2 nodes"):
        await FlowEngine(max_steps=2).run(scope, three, session, message(scope, session, "x"))
    assert (
        len(
            (
                await FlowEngine(max_steps=3).run(
                    scope, three, session, message(scope, session, "x")
                )
            ).replies
        )
        == 3
    )
