"""A refused write leaves one refusal record and changes nothing; a control-database change
that is refused (rolled back) leaves its refusal and no success; a write whose record cannot
be stored is answered 503, never 2xx; with audit of writes off (benchmarks only) refusals
are still recorded. On SQLite and on PostgreSQL."""

from __future__ import annotations

import secrets
from typing import Any

import httpx
import pytest

from tenantry.tenancy.access.schemas import Role
from tenantry.tenancy.audit import log as audit_log
from tests.isolation.probes import ADMIN_TOKEN
from tests.isolation.test_write_audit import records
from tests.isolation.world import TEAM, A, World

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


async def _write(
    world: World, method: str, path: str, headers: dict[str, str], **sent: Any
) -> tuple[httpx.Response, str]:
    correlation = f"refused-{secrets.token_hex(8)}"
    response = await world.http.request(
        method, path, headers=headers | {"X-Correlation-ID": correlation}, **sent
    )
    return response, correlation


async def _one_record(world: World, correlation: str) -> tuple[str, str, str | None]:
    found = await records(world.services, correlation)
    assert len(found) == 1, [(r.action, r.outcome) for r in found]
    return found[0].action, found[0].outcome, found[0].tenant_id


async def _state(world: World) -> Any:
    answer = await world.http.get(
        f"/api/v1/state/{world.a.names.session}", headers=world.a.headers()
    )
    return answer.json()


async def _viewer(world: World) -> dict[str, str]:
    issued = await world.services.access.issue_token("peeker", tenant=A, role=Role.VIEWER)
    return world.a.headers() | {"Authorization": f"Bearer {issued.token}"}


async def test_a_refused_write_is_recorded_and_changes_nothing(world: World) -> None:
    before = await _state(world)
    session = f"/api/v1/sessions/{world.a.names.session}"
    state = f"/api/v1/state/{world.a.names.session}"
    attempts: list[tuple[str, str, dict[str, str], dict[str, Any], int, str]] = [
        ("PUT", state, await _viewer(world), {"json": {"n": 2}}, 403, "state.put"),
        ("PUT", state, world.a.headers(), {"content": b"{not json"}, 400, "state.put"),
        (
            "PUT",
            f"/api/v1/sessions/nosuch-{secrets.token_hex(4)}",
            world.a.headers() | {"If-Match": '"1"'},
            {"json": {"variables": {}}},
            404,
            "session.replace",
        ),
        (
            "PUT",
            session,
            world.a.headers() | {"If-Match": '"9"'},
            {"json": {"variables": {}}},
            412,
            "session.replace",
        ),
    ]
    for method, path, headers, sent, status, action in attempts:
        response, correlation = await _write(world, method, path, headers, **sent)
        assert response.status_code == status, response.text
        assert await _one_record(world, correlation) == (action, "denied", A)
        found = (await records(world.services, correlation))[0]
        assert (found.env_id, found.team_id, found.target) == ("prod", TEAM, path)
    assert await _state(world) == before
    unchanged = await world.http.get(session, headers=world.a.headers())
    assert unchanged.headers["ETag"] == '"1"'


async def test_a_cross_tenant_write_is_recorded_once_by_access(world: World) -> None:
    path = f"/api/v1/state/{world.a.names.session}"
    response, correlation = await _write(
        world, "PUT", path, world.b.headers(tenant=A), json={"n": 3}
    )
    assert response.status_code == 403, response.text
    _, outcome, tenant = await _one_record(world, correlation)
    assert (outcome, tenant) == ("denied", A)  # the access service's record of the attempt


async def test_a_refused_control_database_write_leaves_its_refusal_only(world: World) -> None:
    response, correlation = await _write(
        world, "POST", "/api/v1/tenants", ADMIN, json={"id": A, "name": "again"}
    )
    assert response.status_code == 409, response.text
    # on the platform's record: the body names the tenant, which is not read for a refusal
    assert await _one_record(world, correlation) == ("tenant.create", "denied", None)
    job = f"/api/v1/jobs/{world.a.names.job}/cancel"  # cancelled already: 409, rolled back
    response, correlation = await _write(world, "POST", job, ADMIN)
    assert response.status_code == 409, response.text
    assert await _one_record(world, correlation) == ("job.cancel", "denied", None)


async def test_a_write_whose_record_cannot_be_stored_is_not_acknowledged(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def down(*args: object, **options: object) -> None:
        raise ConnectionError("the audit store is down")

    monkeypatch.setattr(audit_log, "append", down)
    path = f"/api/v1/state/{world.a.names.session}"
    response, _ = await _write(world, "PUT", path, world.a.headers(), json={"n": 4})
    assert response.status_code == 503, response.text
    assert response.json()["code"] == "audit.unavailable"


async def test_audit_of_writes_off_still_records_refusals(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(world.services.settings, "audit_writes", False)
    path = f"/api/v1/state/{world.a.names.session}"
    response, correlation = await _write(world, "PUT", path, world.a.headers(), json={"n": 5})
    assert response.is_success, response.text
    assert await records(world.services, correlation) == []
    response, correlation = await _write(world, "PUT", path, world.b.headers(tenant=A), json={})
    assert response.status_code == 403, response.text
    assert len(await records(world.services, correlation)) == 1
    headers = await _viewer(world)  # a role refusal, recorded by the API layer
    response, correlation = await _write(world, "PUT", path, headers, json={"n": 6})
    assert response.status_code == 403, response.text
    assert await _one_record(world, correlation) == ("state.put", "denied", A)


async def test_a_write_on_another_tenants_names_is_recorded_on_the_callers_tenant(
    world: World,
) -> None:
    """B naming A's session (its own tenant selected) is B's refusal: A's records get nothing,
    and B's record holds only what B sent."""
    path = f"/api/v1/sessions/{world.a.names.session}"
    headers = world.b.headers() | {"If-Match": '"1"'}
    response, correlation = await _write(world, "PUT", path, headers, json={"variables": {}})
    assert response.status_code == 404, response.text
    assert await _one_record(world, correlation) == ("session.replace", "denied", world.b.id)
    [record] = await records(world.services, correlation)
    assert (record.actor, record.target) == (world.b.principal, path)
