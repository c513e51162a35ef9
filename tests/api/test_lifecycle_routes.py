"""The lifecycle and job routes (platform admins), on SQLite and on the real PostgreSQL: a
transition answers 202 with its job and a Location, the job is read, listed, cancelled and
retried, and bad input is the documented problem."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from tenantry.bootstrap import Services
from tenantry.tenancy.access.schemas import Role
from tenantry.tenancy.lifecycle.jobs import Job
from tenantry.tenancy.lifecycle.states import JobKind
from tenantry.tenancy.lifecycle.steps import Step, Work
from tenantry.tenancy.manifests.schemas import Bundle, Environment, Team, TenantSpec
from tests.api.test_api import ADMIN, assert_problem, client_for

TENANTS = "/api/v1/tenants"
JOBS = "/api/v1/jobs"


def bundle() -> Bundle:
    """Two tenants on the shared profile (quick to reconcile on PostgreSQL too)."""
    spec = TenantSpec(name="t", environments=[Environment(id="prod")], teams={"support": Team()})
    return Bundle(tenants={"acme": spec, "bigcorp": spec})


@pytest.fixture
async def api(wired: Services) -> AsyncIterator[httpx.AsyncClient]:
    await wired.registry.apply(bundle())
    outcomes = await wired.controller.reconcile_many(["acme", "bigcorp"], concurrency=2)
    assert {o.result for o in outcomes} == {"ready"}, [o.message for o in outcomes]
    async with client_for(wired) as http:
        yield http


async def _state(api: httpx.AsyncClient, tenant: str = "acme") -> str:
    state: str = (await api.get(f"{TENANTS}/{tenant}", headers=ADMIN)).json()["lifecycle_state"]
    return state


async def _start(api: httpx.AsyncClient, kind: str, tenant: str = "acme") -> dict[str, Any]:
    response = await api.post(f"{TENANTS}/{tenant}/{kind}", headers=ADMIN)
    assert response.status_code == 202, response.text
    job: dict[str, Any] = response.json()
    assert response.headers["location"] == f"{JOBS}/{job['id']}"
    return job


async def _run(wired: Services, job_id: str) -> Job:
    done = await wired.jobs.run(job_id)
    assert done is not None
    return done


async def test_suspend_and_resume_round_trip(api: httpx.AsyncClient, wired: Services) -> None:
    job = await _start(api, "suspend")
    assert (job["kind"], job["tenant_id"], job["state"]) == ("suspend", "acme", "queued")
    assert job["requested_by"] == "admin-token"
    assert job["correlation_id"]  # the request's
    assert await _state(api) == "suspended"  # from the request on
    again = await _start(api, "suspend")  # the same transition: the job doing it
    assert again["id"] == job["id"]
    await _run(wired, job["id"])
    assert (await api.get(f"{JOBS}/{job['id']}", headers=ADMIN)).json()["state"] == "succeeded"

    resumed = await _start(api, "resume")
    await _run(wired, resumed["id"])
    read = (await api.get(f"{JOBS}/{resumed['id']}", headers=ADMIN)).json()
    assert (read["state"], read["progress"]) == ("succeeded", 100)
    [step] = read["steps"]
    assert (step["name"], step["state"], step["attempts"]) == ("reopen", "done", 1)
    assert step["started_at"] <= step["ended_at"]
    assert await _state(api) == "active"


async def test_a_refused_transition_names_the_state_and_the_allowed_ones(
    api: httpx.AsyncClient,
) -> None:
    response = await api.post(f"{TENANTS}/acme/resume", headers=ADMIN)
    body = assert_problem(response, 409, "lifecycle.transition_refused")
    assert (body["lifecycle_state"], body["kind"], body["allowed_from"]) == (
        "active",
        "resume",
        ["suspended"],
    )
    assert "active" in str(body["detail"]) and "suspended" in str(body["detail"])
    await _start(api, "suspend")
    conflict = await api.post(f"{TENANTS}/acme/archive", headers=ADMIN)
    assert assert_problem(conflict, 409, "job.conflict")["kind"] == "suspend"


@pytest.mark.parametrize("kind", ["suspend", "resume", "archive", "restore", "rotate-keys"])
async def test_unknown_and_malformed_tenants(api: httpx.AsyncClient, kind: str) -> None:
    assert_problem(
        await api.post(f"{TENANTS}/nobody/{kind}", headers=ADMIN), 404, "tenant.not_found"
    )
    assert_problem(await api.post(f"{TENANTS}/No_Such/{kind}", headers=ADMIN), 400, "id.invalid")


async def test_delete_schedules_the_purge_and_cancel_gives_the_tenant_back(
    api: httpx.AsyncClient, wired: Services
) -> None:
    assert_problem(await api.delete(f"{TENANTS}/nobody", headers=ADMIN), 404, "tenant.not_found")
    member = await _member(wired)  # issued while acme may still be granted tokens
    response = await api.delete(f"{TENANTS}/acme", headers=ADMIN)
    assert response.status_code == 202, response.text
    job = response.json()
    assert response.headers["location"] == f"{JOBS}/{job['id']}"
    assert (job["kind"], job["state"]) == ("delete", "scheduled")
    assert datetime.fromisoformat(job["not_before"]) > datetime.now(UTC)
    assert job["params"] == {"now": False, "force": False, "environments": ["prod"]}
    assert await _state(api) == "deleting"
    assert_problem(await api.get("/api/v1/sessions", headers=member), 410, "tenant.deleted")
    cancelled = await api.post(f"{JOBS}/{job['id']}/cancel", headers=ADMIN)
    assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled"
    assert await _state(api) == "active"
    now = (await api.delete(f"{TENANTS}/bigcorp", params={"now": "true"}, headers=ADMIN)).json()
    assert datetime.fromisoformat(now["not_before"]) <= datetime.now(UTC)


async def _member(wired: Services, tenant: str = "acme") -> dict[str, str]:
    issued = await wired.access.issue_token("member", tenant=tenant, role=Role.TEAM_MEMBER)
    return {"Authorization": f"Bearer {issued.token}", "X-Tenant-ID": tenant}


async def test_jobs_list_filters(api: httpx.AsyncClient, wired: Services) -> None:
    suspended = await _start(api, "suspend")
    await _run(wired, suspended["id"])
    rotating = await _start(api, "rotate-keys", tenant="bigcorp")

    async def listed(**params: str) -> list[str]:
        response = await api.get(JOBS, params=params, headers=ADMIN)
        assert response.status_code == 200, response.text
        return [j["id"] for j in response.json()["items"]]

    assert await listed() == [rotating["id"], suspended["id"]]  # newest first
    assert await listed(tenant="acme") == [suspended["id"]]
    assert await listed(state="queued") == [rotating["id"]]
    assert await listed(tenant="acme", state="queued") == []
    assert await listed(limit="1") == [rotating["id"]]
    assert await listed(tenant="nobody") == []
    for bad in ({"state": "asleep"}, {"limit": "0"}, {"limit": "1001"}, {"tenant": "No_Such"}):
        response = await api.get(JOBS, params=bad, headers=ADMIN)
        assert response.status_code == 400, (bad, response.text)


@pytest.mark.parametrize(
    "job_id", ["0" * 32, "nope", "A" * 32, "0" * 33, "..", "%2e%2e", "x" * 300]
)
async def test_unknown_and_malformed_job_ids_are_404(api: httpx.AsyncClient, job_id: str) -> None:
    for method, path in (
        ("GET", f"{JOBS}/{job_id}"),
        ("POST", f"{JOBS}/{job_id}/cancel"),
        ("POST", f"{JOBS}/{job_id}/retry"),
    ):
        response = await api.request(method, path, headers=ADMIN)
        assert response.status_code == 404, (method, path, response.text)
        assert response.headers["content-type"] == "application/problem+json"


async def test_cancel_and_retry_refuse_jobs_in_the_wrong_state(
    api: httpx.AsyncClient, wired: Services
) -> None:
    job = await _start(api, "suspend")
    body = assert_problem(
        await api.post(f"{JOBS}/{job['id']}/retry", headers=ADMIN), 409, "job.conflict"
    )
    assert body["state"] == "queued"
    await _run(wired, job["id"])
    body = assert_problem(
        await api.post(f"{JOBS}/{job['id']}/cancel", headers=ADMIN), 409, "job.conflict"
    )
    assert body["state"] == "succeeded"


async def test_a_failed_job_is_retried_and_resumes(api: httpx.AsyncClient, wired: Services) -> None:
    job = await _start(api, "suspend")

    async def broken(work: Work) -> None:
        raise RuntimeError("the disk is on fire")

    failing = wired.jobs.variant({JobKind.SUSPEND: lambda job: [Step("drain", broken)]})
    failed = await failing.run(job["id"])
    assert failed is not None and failed.state == "failed"
    read = (await api.get(f"{JOBS}/{job['id']}", headers=ADMIN)).json()
    assert read["state"] == "failed" and "the disk is on fire" in read["error"]
    assert read["steps"][0]["state"] == "failed" and read["steps"][0]["attempts"] == 1
    assert await _state(api) == "active"  # rolled back: it keeps serving
    retried = await api.post(f"{JOBS}/{job['id']}/retry", headers=ADMIN)
    assert retried.status_code == 202, retried.text
    assert retried.headers["location"] == f"{JOBS}/{job['id']}"
    assert retried.json()["state"] == "queued"
    assert await _state(api) == "suspended"

    async def fixed(work: Work) -> None:
        return None

    done = await wired.jobs.variant({JobKind.SUSPEND: lambda job: [Step("drain", fixed)]}).run(
        job["id"]
    )
    assert done is not None and done.state == "succeeded"
    assert done.steps[0].attempts == 2


@pytest.mark.parametrize("role", [Role.TENANT_ADMIN, Role.TEAM_MEMBER, Role.VIEWER])
async def test_tenant_credentials_cannot_reach_lifecycle_routes(
    api: httpx.AsyncClient, wired: Services, role: Role
) -> None:
    other = await _start(api, "rotate-keys", tenant="bigcorp")
    issued = await wired.access.issue_token("someone", tenant="acme", role=role)
    own = {"Authorization": f"Bearer {issued.token}", "X-Tenant-ID": "acme"}
    calls = [
        ("POST", f"{TENANTS}/acme/suspend"),
        ("POST", f"{TENANTS}/acme/rotate-keys"),
        ("DELETE", f"{TENANTS}/acme"),
        ("GET", JOBS),
        ("GET", f"{JOBS}?tenant=acme"),
        ("GET", f"{JOBS}/{other['id']}"),
        ("POST", f"{JOBS}/{other['id']}/cancel"),
        ("POST", f"{JOBS}/{other['id']}/retry"),
    ]
    for method, path in calls:
        response = await api.request(method, path, headers=own)
        assert_problem(response, 403, "auth.platform_admin_required")
        assert other["id"] not in response.json()["detail"]
    assert await _state(api) == "active"
    assert [j.id for j in await wired.lifecycle.list()] == [other["id"]]
