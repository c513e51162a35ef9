"""Every door has a limit: the full app on SQLite and PostgreSQL, real tokens.

Refused requests (another tenant selected, a bad or missing credential) are limited like the
rest, by credential or else by client address; a refusal is audited once per window and the
rest of the window is appended as one summary; ``POST /api/v1/tokens`` takes the tenant's
authoring limit; ``X-Forwarded-For`` counts only from a configured proxy.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tenantry.api.app import create_app
from tenantry.bootstrap import Services, services
from tenantry.core.settings import Settings
from tenantry.tenancy.access.errors import TenantMismatch
from tenantry.tenancy.access.refusals import SUMMARY_ACTION
from tenantry.tenancy.access.resolution import Selection
from tenantry.tenancy.access.schemas import AuditRecord, Principal
from tenantry.tenancy.limits.plans import RateLimit
from tenantry.tenancy.limits.schemas import LimitsSpec
from tenantry.tenancy.manifests.schemas import Bundle, Environment, Team, TenantSpec
from tests.api.test_access import assert_problem

PATH = "/api/v1/state/s1"
PROXY = "10.0.0.7"


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=database_url,
        data_dir=tmp_path / "data",
        admin_token="admin-secret",
        door_credential_rate=0.01,  # a burst, then one per 100 s
        door_credential_burst=300,
        door_address_rate=0.01,
        door_address_burst=5,
        door_refusal_rate=0.01,
        door_refusal_burst=1000,  # out of the way but in its own test
        trusted_proxies=[PROXY],
    )


@dataclass
class Api:
    services: Services
    tokens: dict[str, str]

    def client(self, address: str = "192.0.2.1") -> httpx.AsyncClient:
        app = create_app(services=self.services)
        transport = httpx.ASGITransport(app=app, client=(address, 40000))
        return httpx.AsyncClient(transport=transport, base_url="http://test")

    def bearer(self, who: str, **headers: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}", **headers}

    async def denied(self) -> list[AuditRecord]:
        records = await self.services.access.audit_records(limit=1000)
        return [r for r in records if r.outcome == "denied"]


@pytest.fixture
async def api(wired: Services) -> AsyncIterator[Api]:
    teams = {"support": Team()}
    slow = LimitsSpec(authoring_rate=0.01, authoring_burst=3)  # three writes, then 1 per 100 s
    spec = {
        name: TenantSpec(name=name, environments=[Environment(id="prod")], teams=teams, limits=slow)
        for name in ("acme", "bigcorp")
    }
    await wired.registry.apply(Bundle(tenants=spec))
    outcomes = await wired.controller.reconcile_many(list(spec), concurrency=2)
    assert {o.result for o in outcomes} == {"ready"}, [o.message for o in outcomes]
    access = wired.access
    member = await access.issue_token("m", tenant="bigcorp", team="support", role="team-member")
    admin = await access.issue_token("a", tenant="acme", role="tenant-admin")
    viewer = await access.issue_token("v", tenant="acme", role="viewer")
    yield Api(wired, {"member": member.token, "admin": admin.token, "viewer": viewer.token})


async def test_cross_tenant_refusals_are_audited_once_then_summed_then_limited(api: Api) -> None:
    async with api.client() as http:
        sent = api.bearer("member", **{"X-Tenant-ID": "acme", "X-Team-ID": "support"})
        for _ in range(300):
            assert_problem(await http.get(PATH, headers=sent), 403, "auth.tenant_mismatch")
        assert len(await api.denied()) == 1  # the first at once, the rest counted
        limited = await http.get(PATH, headers=sent)
        body = assert_problem(limited, 429, "rate.limited")
        assert "this credential" in body["detail"]
        assert int(limited.headers["Retry-After"]) >= 1
        assert limited.headers["RateLimit-Limit"] == "300"
        # another tenant's credential is not limited by that flood
        assert (await http.get(PATH, headers=api.bearer("viewer"))).status_code != 429
    await api.services.access.aclose()  # what shutdown does
    denied = await api.denied()
    assert len(denied) == 2 and all(r.tenant == "acme" for r in denied)
    summary = next(r for r in denied if r.action == SUMMARY_ACTION)
    assert summary.details["count"] == 299
    assert summary.details["first_action"] == "GET /api/v1/state/{session_id}"
    assert summary.details["reason"] == "auth.tenant_mismatch"


async def test_a_credentials_refusals_spend_a_smaller_budget_of_their_own(api: Api) -> None:
    doors = api.services.limits.doors
    doors.limits = dataclasses.replace(doors.limits, refusal=RateLimit(0.01, 3))
    async with api.client() as http:
        sent = api.bearer("member", **{"X-Tenant-ID": "acme", "X-Team-ID": "support"})
        statuses = [(await http.get(PATH, headers=sent)).status_code for _ in range(10)]
        assert statuses == [403] * 4 + [429] * 6  # the fourth refusal spent the budget
        body = assert_problem(await http.get(PATH, headers=sent), 429, "rate.limited")
        assert "refused requests from this credential" in body["detail"]
        own = api.bearer("member", **{"X-Team-ID": "support"})  # its own tenant: door closed
        assert_problem(await http.get(PATH, headers=own), 429, "rate.limited")
        # another credential is not limited by that flood
        assert_problem(await http.get(PATH, headers=api.bearer("viewer")), 404, "state.not_found")
    assert len(await api.denied()) == 1  # the first at once, the rest counted


async def test_bad_credentials_are_limited_by_client_address(api: Api) -> None:
    async with api.client("192.0.2.9") as flood, api.client("192.0.2.10") as other:
        bad = {"Authorization": "Bearer not.a.token"}
        for _ in range(5):
            assert_problem(await flood.get(PATH, headers=bad), 401, "auth.invalid_token")
        assert_problem(await flood.get(PATH, headers=bad), 429, "rate.limited")
        missing = await flood.get(PATH)  # no credential: the same address's bucket
        assert_problem(missing, 429, "rate.limited")
        assert_problem(await other.get(PATH, headers=bad), 401, "auth.invalid_token")
    denied = await api.denied()
    assert len(denied) == 2  # one per address, the rest summed when the window closes
    assert {r.details["client_address"] for r in denied} == {"192.0.2.9", "192.0.2.10"}
    assert all("not.a.token" not in str(r.details) for r in denied)


async def test_a_known_good_credential_passes_its_address_refusal(api: Api) -> None:
    async with api.client("192.0.2.20") as http:
        viewer = api.bearer("viewer")
        assert_problem(await http.get(PATH, headers=viewer), 404, "state.not_found")
        for _ in range(6):
            await http.get(PATH, headers={"Authorization": "Bearer tnt_forged_key"})
        assert_problem(await http.get(PATH), 429, "rate.limited")
        assert_problem(await http.get(PATH, headers=viewer), 404, "state.not_found")


async def test_a_trusted_proxy_forwarded_address_is_honoured(api: Api) -> None:
    bad = {"Authorization": "Bearer nope"}
    async with api.client(PROXY) as proxy:
        for client in ("198.51.100.1", "198.51.100.2"):
            forwarded = {**bad, "X-Forwarded-For": f"203.0.113.9, {client}"}
            for _ in range(5):
                assert (await proxy.get(PATH, headers=forwarded)).status_code == 401
            assert (await proxy.get(PATH, headers=forwarded)).status_code == 429
    denied = await api.denied()
    assert {r.details["client_address"] for r in denied} == {"198.51.100.1", "198.51.100.2"}


async def test_an_untrusted_peer_forwarded_address_is_ignored(api: Api) -> None:
    async with api.client("192.0.2.30") as http:
        for n in range(5):
            forwarded = {"Authorization": "Bearer nope", "X-Forwarded-For": f"198.51.100.{n}"}
            assert (await http.get(PATH, headers=forwarded)).status_code == 401
        forwarded = {"Authorization": "Bearer nope", "X-Forwarded-For": "198.51.100.99"}
        assert (await http.get(PATH, headers=forwarded)).status_code == 429
    [denied] = await api.denied()
    assert denied.details["client_address"] == "192.0.2.30"


async def test_issuing_tokens_takes_the_tenants_authoring_limit(api: Api) -> None:
    body = {"principal": "bot", "role": "viewer"}
    async with api.client() as http:
        answers = [
            (await http.post("/api/v1/tokens", json=body, headers=api.bearer("admin"))).status_code
            for _ in range(30)
        ]
    assert answers == [201] * 3 + [429] * 27  # the tenant's authoring burst
    records = await api.services.access.audit_records()
    issued = [r for r in records if r.action == "token.issue" and r.outcome == "succeeded"]
    assert len(issued) == 3 + 3  # the fixture's three, then the burst
    refused = [r for r in records if r.action == "token.issue" and r.outcome == "denied"]
    assert len(refused) == 27  # each refusal recorded (issue 13)


async def test_a_summary_is_appended_when_the_services_close(settings: Settings) -> None:
    async with services(settings) as wired:
        await _refuse_twice(wired)
        assert len(wired.access.refusals) == 1
    async with services(settings) as reopened:
        records = await reopened.access.audit_records()
    denied = [r for r in records if r.outcome == "denied"]
    assert [r.action for r in denied] == [SUMMARY_ACTION, "GET /x"]
    assert denied[0].details["count"] == 1


async def _refuse_twice(wired: Services) -> None:
    spec = TenantSpec(name="acme", environments=[Environment(id="prod")])
    await wired.registry.apply(Bundle(tenants={"acme": spec, "other": spec}))
    token = await wired.access.issue_token("m", tenant="other", role="viewer")
    principal = await wired.access.authenticate(token.token)
    for _ in range(2):
        with pytest.raises(TenantMismatch):
            await wired.access.resolve(principal, Selection(tenant="acme"), action="GET /x")


async def test_past_its_limit_a_request_is_refused_without_verification_or_audit(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str | None] = []
    authenticate = api.services.access.authenticate

    async def counted(credential: str | None) -> Principal:
        calls.append(credential)
        return await authenticate(credential)

    monkeypatch.setattr(api.services.access, "authenticate", counted)
    bad = {"Authorization": "Bearer tnt_0123456789abcdef_forged"}
    async with api.client("192.0.2.40") as http:
        statuses = [(await http.get(PATH, headers=bad)).status_code for _ in range(50)]
    assert statuses == [401] * 5 + [429] * 45
    assert len(calls) == 6  # five 401s, then the one that spent the address's limit
    assert len(await api.denied()) == 1
