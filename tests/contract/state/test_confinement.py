"""Confinement: no id, however hostile, reaches another tenant's state or writes anything."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tenantry.core import names
from tenantry.core.ids import InvalidId
from tests.contract.state.support import ENV, FEW, RUN, Harness, ops

HOSTILE = [
    "*",
    ":",
    "..",
    "../b",
    "a:b",
    "a*",
    "a?",
    "[a]",
    "a\\b",
    "%",
    "Support",
    "\u0455upport",  # Cyrillic dze, looks like "s"
    "\u0430cme",  # Cyrillic a
    "x" * 65,
    "",
    " ",
    "a b",
    "a\x00",
    "a--b",
    "-a",
    "a/b",
    "state:victim:prod:default:s1",
]


HOSTILE_CASES = [
    *(("team", bad) for bad in [*HOSTILE, 7]),  # no team (None) is the default team
    *(("session", bad) for bad in [*HOSTILE, None, 7]),
]


@pytest.mark.parametrize(("position", "bad"), HOSTILE_CASES, ids=repr)
async def test_hostile_ids_are_rejected_and_nothing_changes(
    harness: Harness, bad: Any, position: str
) -> None:
    victim, attacker = harness.bind(harness.tenant()), harness.bind(harness.tenant())
    await victim.set("support", "s1", "mine")
    before = await harness.keys()
    team, session = (bad, "s1") if position == "team" else ("support", bad)
    calls = list(ops(team, session).values())
    if position == "team":
        calls.append(lambda s: s.clear_team(team))
    for call in calls:
        with pytest.raises(InvalidId) as caught:
            await call(attacker)
        assert caught.value.code == "id.invalid"
    assert await harness.keys() == before
    assert await victim.get("support", "s1") == "mine"


@pytest.mark.parametrize("bad", [*HOSTILE, "x" * 33, None], ids=repr)
async def test_binding_needs_valid_tenant_and_env(harness: Harness, bad: Any) -> None:
    for tenant, env in ((bad, ENV), (harness.tenant(), bad)):
        with pytest.raises(InvalidId):
            harness.bind(tenant, env)
    with pytest.raises(InvalidId, match="reserved"):
        harness.bind("global", ENV)  # the platform's secret namespace


async def test_a_store_cannot_reach_another_tenants_values(harness: Harness) -> None:
    a_id, b_id = harness.tenant(), harness.tenant()
    a, b = harness.bind(a_id), harness.bind(b_id)
    teams = [None, "support", "default", a_id, b_id]
    sessions = ["s1", b_id, "default", "state"]
    for team in teams:
        for session in sessions:
            await b.set(team, session, "b")
    for team in teams:
        for session in sessions:
            assert await a.get(team, session) is None
            assert not await a.delete(team, session)
            await a.set(team, session, "a")
        assert await a.clear_team(team) == len(sessions)
    assert await a.clear() == 0
    for team in teams:
        for session in sessions:
            assert await b.get(team, session) == "b"


@FEW
@given(
    team=st.none()
    | st.from_regex(r"[a-z0-9]{1,8}(-[a-z0-9]{1,8}){0,2}", fullmatch=True)
    | st.text(max_size=40),
    session=st.from_regex(r"[a-z0-9]{1,20}([_-][a-z0-9]{1,20}){0,2}", fullmatch=True)
    | st.text(max_size=70),
)
async def test_any_ids_either_fail_or_land_in_this_tenants_space(
    harness: Harness, team: str | None, session: str
) -> None:
    tenant = f"{RUN}-ids"
    store = harness.bind(tenant)
    before = await harness.keys()
    try:
        await store.set(team, session, 1)
    except InvalidId:
        assert await harness.keys() == before
        return
    written = await harness.keys() - before
    assert all(names.parse_state_key(key)[:2] == (tenant, ENV) for key in written)
    assert await store.delete(team, session)
