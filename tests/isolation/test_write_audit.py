"""Every write route of the OpenAPI document leaves exactly one audit record of its success,
with the caller's tenant, environment, team and the route's action name (docs/audit.md);
a refused write leaves a refusal record and changes nothing; a write whose record cannot be
stored is not acknowledged. On SQLite and on PostgreSQL."""

from __future__ import annotations

import secrets

import pytest
from sqlalchemy import select

from tenantry.api import actions
from tenantry.bootstrap import Services
from tenantry.tenancy.access.models import AuditRecordRow
from tests.isolation import hooks
from tests.isolation.probes import ADMIN_TOKEN, send
from tests.isolation.table import TABLE, Call, Kind, Route, schema_routes
from tests.isolation.world import TEAM, A, Names, World

WRITES = [label for label in schema_routes() if label.split()[0] not in actions.READ_METHODS]


async def records(services: Services, correlation: str) -> list[AuditRecordRow]:
    """The audit records of one request (by its correlation id)."""
    async with services.engine.connect() as db:
        found = await db.execute(
            select(AuditRecordRow).where(AuditRecordRow.correlation_id == correlation)
        )
        return list(found.all())  # type: ignore[arg-type]


def test_every_write_route_has_an_action_name() -> None:
    assert sorted(WRITES) == sorted(actions.WRITES), "name new write routes in api/actions.py"
    names = [action.name for action in actions.WRITES.values()]
    assert len(set(names)) == len(names), "action names are unique"


def _request(world: World, route: Route) -> tuple[Call, dict[str, str]]:
    """The route's first call with A's names, and the credentials that make it succeed."""
    names = Names.fresh(A) if route.kind is Kind.WRITE else world.a.names  # a new thing
    call = route.build(names)[0]
    if route.kind is Kind.ADMIN:
        return call, {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    if route.kind is Kind.SIGNED:
        body = hooks.event("hello")
        signed = Call(call.method, call.path, content=body)
        return signed, hooks.signed(world.a.values["signing"], body)
    return call, world.a.headers()


def _tenant_of(call: Call) -> str:
    if call.path == "/api/v1/tenants":
        created: str = call.json["id"]
        return created
    return A


@pytest.mark.parametrize("label", WRITES)
async def test_a_write_leaves_exactly_one_record(label: str, world: World) -> None:
    route = TABLE[label]
    if route.ready is not None:
        await route.ready(world.services, world.a.names)
    call, headers = _request(world, route)
    correlation = f"write-{secrets.token_hex(8)}"
    response = await send(world, call, headers | {"X-Correlation-ID": correlation})
    assert response.is_success, response.text
    found = await records(world.services, correlation)
    assert len(found) == 1, [(r.action, r.outcome) for r in found]
    record, action = found[0], actions.WRITES[label]
    assert (record.action, record.outcome) == (action.name, "succeeded")
    assert record.tenant_id == _tenant_of(call)
    if action.in_transaction:
        return  # recorded by the service with the change (its target and HMAC where known)
    assert (record.env_id, record.team_id) == ("prod", TEAM)
    assert record.target == call.path
    assert record.request_hmac is not None and len(record.request_hmac) == 64
    if route.kind is Kind.SIGNED:
        assert record.actor == "provider:slack"
    else:
        principal = await world.services.access.authenticate(world.a.token)
        assert (record.actor, record.credential_id) == (world.a.principal, principal.credential_id)
