"""The API isolation suite: every route, with tenant B's real credentials aimed at tenant A.

For each route of the OpenAPI document (on SQLite and on PostgreSQL, a fresh world each):
(a) B's token on A's ids is answered exactly like missing ids, and lists show B's data only;
(b) B's token selecting A with ``X-Tenant-ID`` is 403 ``auth.tenant_mismatch``, audited;
(c) forged tokens and an expired one are 401;
(d) B's valid token and API key are 403 once B is suspended;
(e) A's data reads the same after all of it;
(f) on tenant-role routes, a team B's tenant does not have (A's, or nobody's) is 404.
"""

from __future__ import annotations

import pytest

from tests.isolation import hooks, probes
from tests.isolation.table import TABLE, Kind, schema_routes, tenant_role_routes
from tests.isolation.world import A, World

ROUTES = schema_routes()
TENANT_ROLE = tenant_role_routes()


def test_every_route_of_the_openapi_document_is_in_the_table() -> None:
    missing = [label for label in ROUTES if label not in TABLE]
    assert not missing, f"add these routes to tests/isolation/table.py: {missing}"
    stale = set(TABLE) - set(ROUTES)
    assert not stale, f"these routes of the table are no longer served: {stale}"


def test_the_table_covers_every_kind_of_route() -> None:
    assert len(ROUTES) >= 28
    assert {"POST /api/v1/tokens", "GET /api/v1/tenants/{tenant_id}"} <= set(ROUTES)


@pytest.mark.parametrize("label", ROUTES)
async def test_tenant_b_cannot_reach_tenant_a(
    label: str, world: World, subtests: pytest.Subtests
) -> None:
    route = TABLE.get(label)
    assert route is not None, f"{label} is served but not in tests/isolation/table.py"
    before = await world.snapshot(world.a)
    if route.kind is Kind.SIGNED:
        with subtests.test("a provider webhook: B's signatures never reach A"):
            await hooks.probe(world, route)
        assert await world.snapshot(world.a) == before, f"A's data changed after: {world.log}"
        return
    with subtests.test("(a) A's ids are answered like missing ones"):
        await probes.foreign_names(world, route)
    with subtests.test("(b) a mismatched X-Tenant-ID is 403 and audited"):
        await probes.mismatched_header(world, route)
    with subtests.test("(c) forged and expired tokens are 401"):
        await probes.forged_tokens(world, route)
    if label in TENANT_ROLE:
        with subtests.test("(f) a team the tenant does not have is 404"):
            await probes.unknown_team(world, route)
    with subtests.test("(d) a suspended tenant's credentials are 403 at once"):
        await probes.suspended(world, route)
    after = await world.snapshot(world.a)
    assert after == before, f"A's data changed after: {world.log}"
    records = await world.services.access.audit_records(tenant=A, limit=1000)
    assert {r.actor for r in records if r.outcome == "denied"} <= {world.b.principal}
