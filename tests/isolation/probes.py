"""What the isolation suite does to one route: B's attempts on A, and what each must get."""

from __future__ import annotations

import json
import secrets
from typing import Any
from urllib.parse import unquote

import httpx
from sqlalchemy import update

from tenantry.tenancy.access.schemas import PrincipalKind
from tenantry.tenancy.registry.models import TenantRow
from tests.isolation import forgery
from tests.isolation.table import Call, Kind, Route
from tests.isolation.world import PROBLEM, TEAM, TEAM_OF_A, A, Names, Tenant, World, leaked

# Where a LIST route's answer to the caller shows the caller's own data.
SHOWN: dict[str, str] = {
    "GET /api/v1/sessions": "session",
    "GET /api/v1/secrets": "secret",
    "GET /api/v1/objects": "object_key",
    "GET /api/v1/search": "doc",
    "GET /api/v1/api-keys": "api_key",
}
ADMIN_TOKEN = "admin-secret"  # the `settings` fixture's
# How admin routes refuse a verified tenant credential (token or API key), whatever it selects.
ADMIN_REFUSAL = (403, "auth.platform_admin_required")
GHOST_TEAM = "no-such-team"  # no tenant's


async def send(world: World, call: Call, headers: dict[str, str]) -> httpx.Response:
    response = await world.http.request(
        call.method,
        call.path,
        json=call.json,
        content=call.content,
        params=call.params,
        headers=headers | call.headers,
    )
    world.log.append(f"{call.method} {call.path} -> {response.status_code}")
    if call.method == "HEAD":  # no body to check: it must answer as GET does, whose body tells
        return await _as_get(world, call, headers, response)
    return response


_SAME_AS_GET = ("content-type", "etag", "content-length", "www-authenticate", "retry-after")


async def _as_get(
    world: World, call: Call, headers: dict[str, str], head: httpx.Response
) -> httpx.Response:
    also = headers | call.headers
    if "X-Correlation-ID" in also:  # the attempt's audit record stays the HEAD's own
        also = also | {"X-Correlation-ID": also["X-Correlation-ID"] + "-get"}
    got = await world.http.get(call.path, params=call.params, headers=also)
    assert head.content == b"", head.content
    assert head.status_code == got.status_code, (head.status_code, got.text)
    for name in _SAME_AS_GET:
        assert head.headers.get(name) == got.headers.get(name), (name, head.headers, got.headers)
    return got


def code_of(response: httpx.Response) -> str | None:
    if response.headers.get("content-type") != PROBLEM:
        return None
    code: str = response.json()["code"]
    return code


def assert_problem(response: httpx.Response, status: int, code: str) -> None:
    assert (response.status_code, code_of(response)) == (status, code), response.text


def assert_admin_refusal(response: httpx.Response) -> None:
    assert (response.status_code, code_of(response)) == ADMIN_REFUSAL, response.text


def normalized(response: httpx.Response, names: Names) -> Any:
    """The answer with the names the request used replaced by their labels."""
    text = response.text
    pairs = sorted([*names.items(), ("tenant", names.tenant)], key=lambda p: -len(p[1]))
    for label, value in pairs:
        if value:
            text = text.replace(value, f"<{label}>")
    return json.loads(text) if text and "json" in response.headers.get("content-type", "") else text


def sent(request: httpx.Request) -> str:
    """Everything a request sent, as text: what an answer may echo without leaking."""
    return " ".join(
        (unquote(str(request.url)), json.dumps(dict(request.headers)), request.content.decode())
    )


def assert_no_leak(world: World, response: httpx.Response) -> None:
    """Nothing of A's (ids, values, credentials, its tenant id) is in B's answer, unless B's
    request carried it."""
    markers = {**world.a.markers(), "tenant": A}
    answer = response.text + json.dumps(dict(response.headers))
    found = leaked(answer, markers, sent(response.request))
    assert not found, f"{response.request.url}: A's {found} in {response.text[:500]}"


def assert_alike(
    route: Route,
    foreign: tuple[httpx.Response, Names],
    missing: tuple[httpx.Response, Names],
) -> None:
    """B's request on A's names is answered exactly like one on names that hold nothing
    (the same status, and the same problem or listing once the names are blanked out)."""
    (got, a_names), (expected, fresh) = foreign, missing
    assert got.status_code == expected.status_code, (got.text, expected.text)
    if code_of(expected) is not None or route.kind in (Kind.LIST, Kind.ADMIN):
        assert normalized(got, a_names) == normalized(expected, fresh)
    elif got.content:
        assert set(got.json()) == set(expected.json())
    assert got.headers.get("Idempotent-Replayed") is None


async def unknown_team(world: World, route: Route) -> None:
    """(f) B's credential selecting a team B's tenant does not have: 404 ``team.not_found``,
    before anything runs (a write writes nothing, a key is not claimed)."""
    call = route.build(world.b.names)[0]
    for team in (GHOST_TEAM, TEAM_OF_A):
        response = await send(world, call, world.b.headers() | {"X-Team-ID": team})
        assert_problem(response, 404, "team.not_found")
        assert_no_leak(world, response)


async def foreign_names(world: World, route: Route) -> None:
    """(a) B's token, B's headers, A's names: like missing names; B's own names work."""
    a, fresh, headers = world.a.names, Names.fresh(), world.b.headers()
    if route.ready is not None and route.kind is not Kind.ADMIN:  # both tenants' things
        for tenant in (world.a, world.b):
            await route.ready(world.services, tenant.names)
    for foreign_call, missing_call in zip(route.build(a), route.build(fresh), strict=True):
        foreign = await send(world, foreign_call, headers)
        missing = await send(world, missing_call, headers)
        assert_alike(route, (foreign, a), (missing, fresh))
        if route.kind is Kind.WRITE:  # the control: B writes under new names
            assert missing.is_success, missing.text
        assert_no_leak(world, foreign)
    if route.kind is not Kind.WRITE:  # its own names are taken: the new ones were the control
        await own_names_work(world, route)


async def own_names_work(world: World, route: Route) -> None:
    """The control: the route does reach the caller's own data."""
    own_call = route.build(world.b.names)[0]
    if route.kind is Kind.ADMIN:
        root = await world.services.access.issue_token("root", kind=PrincipalKind.PLATFORM_ADMIN)
        for credential in (ADMIN_TOKEN, root.token):
            if route.ready is not None:
                await route.ready(world.services, world.b.names)
            call = route.build(world.b.names)[0]  # built again: a create needs a new id
            admin = await send(world, call, {"Authorization": f"Bearer {credential}"})
            assert admin.is_success, admin.text
        await settle(world, world.b)
        assert_admin_refusal(await send(world, own_call, world.b.headers()))
        return
    own = await send(world, own_call, world.b.headers())
    assert own.is_success, own.text
    assert_no_leak(world, own)
    if route.label in SHOWN:
        assert getattr(world.b.names, SHOWN[route.label]) in own.text, own.text


async def mismatched_header(world: World, route: Route) -> None:
    """(b) B's token selecting A with X-Tenant-ID: 403 and an audit record of the attempt."""
    for call in route.build(world.a.names):
        correlation = f"attempt-{secrets.token_hex(8)}"
        headers = world.b.headers(tenant=A) | {"X-Correlation-ID": correlation}
        response = await send(world, call, headers)
        assert_no_leak(world, response)
        if route.kind is Kind.ADMIN:  # no tenant is selected: tenant credentials are refused
            assert_admin_refusal(response)
            continue
        assert_problem(response, 403, "auth.tenant_mismatch")
        # a refusal is recorded at once or counted in its window's summary (which carries
        # the last correlation id): close the windows to see either
        await world.services.access.refusals.flush()
        records = await world.services.access.audit_records(tenant=A, limit=1000)
        found = [r for r in records if r.correlation_id == correlation]
        assert len(found) == 1, f"no audit record of {correlation}: {records}"
        assert (found[0].outcome, found[0].actor, found[0].tenant) == (
            "denied",
            world.b.principal,
            A,
        )


async def forged_tokens(world: World, route: Route) -> None:
    """(c) Forged tokens (each granting A) and an expired genuine token: 401."""
    data_dir = world.services.settings.data_dir
    tokens = forgery.forged(world.b.token, victim=A, data_dir=data_dir)
    expired = forgery.expired(world.a.principal, A, data_dir=data_dir)
    call = route.build(world.a.names)[0]
    for label, token in {**tokens, "expired": expired}.items():
        headers = {"Authorization": f"Bearer {token}", "X-Tenant-ID": A, "X-Team-ID": TEAM}
        response = await send(world, call, headers)
        assert response.status_code == 401, (label, response.text)
        expected = "auth.expired_token" if label == "expired" else "auth.invalid_token"
        assert code_of(response) == expected, (label, response.text)
        assert_no_leak(world, response)


async def suspended(world: World, route: Route) -> None:
    """(d) Once B is suspended, its valid token and API key are refused at once (403)."""
    b = world.b
    key = await world.services.access.create_api_key(b.id, role="tenant-admin", name="fresh")
    for credential in (b.token, key.secret):  # both work (and are verified and cached) now
        headers = b.headers() | {"Authorization": f"Bearer {credential}"}
        before = await world.http.get("/api/v1/sessions", headers=headers)
        assert before.status_code == 200, before.text
    await suspend(world, b)
    call = route.build(b.names)[0]
    for credential in (b.token, key.secret):
        headers = b.headers() | {"Authorization": f"Bearer {credential}"}
        response = await send(world, call, headers)
        if route.kind is Kind.ADMIN:
            assert_admin_refusal(response)
        else:
            assert_problem(response, 423, "tenant.suspended")
        assert_no_leak(world, response)


async def settle(world: World, tenant: Tenant) -> None:
    """Undo what an admin control did to the tenant: its active jobs cancelled, it active."""
    for job in await world.services.lifecycle.list(tenant_id=tenant.id):
        if job.state.active:
            await world.services.lifecycle.cancel(job.id)
    async with world.services.engine.begin() as db:
        await db.execute(
            update(TenantRow).where(TenantRow.id == tenant.id).values(lifecycle_state="active")
        )


async def suspend(world: World, tenant: Tenant) -> None:
    """What suspending does to the registry today (there is no lifecycle API yet)."""
    async with world.services.engine.begin() as db:
        await db.execute(
            update(TenantRow).where(TenantRow.id == tenant.id).values(lifecycle_state="suspended")
        )
