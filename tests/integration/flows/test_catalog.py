"""Versions and bindings: pinned or newest, cached by generation, never across tenants."""

from __future__ import annotations

from typing import Any

import pytest

from tenantry.bootstrap import Services
from tenantry.core.errors import ErrorKind, TenantryError
from tenantry.tenancy.flows.catalog import FRESH, FlowCatalog
from tenantry.tenancy.manifests.schemas import Bundle, Channel, Flow, Team, TenantSpec
from tenantry.tenancy.registry import database
from tenantry.tenancy.registry.errors import FlowNotFound


def _flow(name: str, version: str, text: str) -> Flow:
    node: dict[str, Any] = {"id": "greet", "type": "reply", "config": {"message": text}}
    return Flow.model_validate({"name": name, "version": version, "nodes": [node]})


def _tenant(team_flow: str, channel_flow: str | None, *flows: Flow) -> TenantSpec:
    channels = {"webchat": Channel(provider="messaging-webchat", flow=channel_flow)}
    return TenantSpec(
        name="T",
        teams={"support": Team(flow=team_flow, channels=channels)},
        flows={f.name: f for f in flows},
    )


async def _reply(wired: Services, tenant: str, channel: str = "webchat") -> str | None:
    found = await wired.flows.resolve(tenant, "support", channel)
    return None if found is None else str(found.nodes[0].config["message"])


async def test_unpinned_bindings_follow_the_newest_and_pinned_ones_stay(wired: Services) -> None:
    moment = [0.0]
    catalog = FlowCatalog(database.session_factory(wired.engine), now=lambda: moment[0])

    async def reply() -> str:
        found = await catalog.resolve("acme", "support", "webchat")
        assert found is not None
        return str(found.nodes[0].config["message"])

    v1 = _flow("help_flow", "1.0", "one")
    await wired.registry.apply(Bundle(tenants={"acme": _tenant("help_flow", None, v1)}))
    assert await reply() == "one"
    v2 = _flow("help_flow", "2.0", "two")
    await wired.registry.apply(Bundle(tenants={"acme": _tenant("help_flow", None, v2)}))
    assert await reply() == "one"  # within FRESH of the last read: answered from the cache
    moment[0] += FRESH
    assert await reply() == "two"  # the cache saw the new generation
    pinned = _tenant("help_flow", "help_flow@1.0", v2)
    await wired.registry.apply(Bundle(tenants={"acme": pinned}))
    moment[0] += FRESH
    assert await reply() == "one"
    assert (await wired.flows.get("acme", "help_flow")).version == "2.0"
    assert [(v.name, v.version) for v in await wired.flows.list("acme")] == [
        ("help_flow", "2.0"),
        ("help_flow", "1.0"),
    ]


async def test_a_pin_to_a_version_never_applied_is_refused_at_apply(wired: Services) -> None:
    v1 = _flow("help_flow", "1.0", "one")
    await wired.registry.apply(Bundle(tenants={"acme": _tenant("help_flow", None, v1)}))
    bad = _tenant("help_flow", "help_flow@9.9", v1)
    with pytest.raises(TenantryError) as raised:
        await wired.registry.apply(Bundle(tenants={"acme": bad}))
    assert raised.value.code == "flow.version_unknown"
    assert raised.value.kind is ErrorKind.INVALID
    assert await _reply(wired, "acme") == "one"  # nothing changed


@pytest.mark.parametrize("ref", ["help_flow@", "help_flow@x", "Help@1.0", "a.b@1", "h@1@2"])
def test_malformed_bindings_are_refused(ref: str) -> None:
    with pytest.raises(ValueError, match="flow"):
        Team(flow=ref)


async def test_a_tenants_bindings_never_resolve_another_tenants_flows(wired: Services) -> None:
    mine = _flow("shared_name", "1.0", "acme's")
    theirs = _flow("shared_name", "1.0", "bigcorp's")
    other = _flow("only_bigcorp", "1.0", "secret")
    await wired.registry.apply(
        Bundle(
            tenants={
                "acme": _tenant("shared_name", None, mine),
                "bigcorp": _tenant("shared_name", "only_bigcorp", theirs, other),
            }
        )
    )
    assert await _reply(wired, "acme") == "acme's"
    assert await _reply(wired, "bigcorp") == "secret"
    assert await _reply(wired, "bigcorp", "other") == "bigcorp's"  # the team's binding
    with pytest.raises(FlowNotFound):
        await wired.flows.get("acme", "only_bigcorp")
    assert await wired.flows.resolve("nobody", "support", "webchat") is None
