"""Workers resolve the tenant context from a message subject or a job, then the registry."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import update

from tenantry.bootstrap import Services
from tenantry.core.errors import ErrorKind, TenantryError
from tenantry.tenancy.manifests.schemas import Bundle, Environment, Team, TenantSpec
from tenantry.tenancy.registry.models import TenantRow
from tenantry.worker import context

SUBJECT = "greentic.messaging.ingress.prod.acme.support.webchat"


@pytest.fixture
async def fleet(wired: Services) -> Services:
    teams = {"support": Team(), "sales": Team()}
    spec = {
        t: TenantSpec(name=t, environments=[Environment(id="prod")], teams=teams)
        for t in ("acme", "beta")
    }
    await wired.registry.apply(Bundle(tenants=spec))
    outcomes = await wired.controller.reconcile_many(list(spec), concurrency=2)
    assert {o.result for o in outcomes} == {"ready"}, [o.message for o in outcomes]
    return wired


async def test_a_subject_names_the_context_and_its_scope(fleet: Services) -> None:
    scope = await context.scope_of_subject(fleet.scopes, SUBJECT)
    assert (scope.ctx.tenant_id, scope.ctx.env_id, scope.ctx.team_id) == ("acme", "prod", "support")
    await scope.state.set(None, "s1", {"from": "worker"})
    other = await context.scope_of_subject(fleet.scopes, SUBJECT.replace(".acme.", ".beta."))
    assert await other.state.get(None, "s1") is None  # beta's scope sees nothing of acme's
    assert await scope.state.get(None, "s1") == {"from": "worker"}
    default = context.context_of_subject("greentic.messaging.egress.prod.acme.default.slack")
    assert default.team_id is None


@pytest.mark.parametrize(
    "subject",
    [
        "greentic.messaging.ingress.prod.acme.support",  # five tokens
        "greentic.messaging.ingress.prod.acme.support.webchat.x",  # seven
        "greentic.messaging.ingress.prod.*.support.webchat",  # a wildcard
        "greentic.messaging.ingress.prod.>",
        "greentic.messaging.sideways.prod.acme.support.webchat",
        "other.prefix.ingress.prod.acme.support.webchat",
        "greentic.messaging.ingress.prod.ACME.support.webchat",
        "greentic.messaging.ingress.prod.acme--x.support.webchat",
        "greentic.messaging.ingress.prod.\u0430cme.support.webchat",  # a Cyrillic a
    ],
)
def test_a_malformed_subject_names_no_context(subject: str) -> None:
    with pytest.raises(TenantryError) as refused:
        context.context_of_subject(subject)
    assert refused.value.kind is ErrorKind.INVALID


async def test_a_team_the_tenant_does_not_have_is_refused(fleet: Services) -> None:
    with pytest.raises(TenantryError) as refused:
        await context.scope_of_subject(fleet.scopes, SUBJECT.replace(".support.", ".ghost."))
    assert refused.value.code == "team.not_found"
    job = {"tenant_id": "beta", "env_id": "prod", "team_id": "ghost"}
    with pytest.raises(TenantryError) as refused:
        await context.scope_of_job(fleet.scopes, job)
    assert refused.value.code == "team.not_found"


async def test_a_job_names_the_context_and_its_scope(fleet: Services) -> None:
    job = {"tenant_id": "beta", "env_id": "prod", "team_id": "sales", "correlation_id": "job-7"}
    scope = await context.scope_of_job(fleet.scopes, job)
    assert scope.ctx.tenant_id == "beta" and scope.ctx.team_id == "sales"
    assert scope.ctx.correlation_id == "job-7"


@pytest.mark.parametrize(
    ("job", "code"),
    [
        ({"env_id": "prod"}, "job.context_invalid"),
        ({"tenant_id": "acme"}, "job.context_invalid"),
        ({"tenant_id": "acme", "env_id": "prod", "tenant": "beta"}, "job.context_invalid"),
        ({"tenant_id": ["acme"], "env_id": "prod"}, "job.context_invalid"),
        ({"tenant_id": "acme", "env_id": "prod", "correlation_id": "a b"}, "job.context_invalid"),
        ({"tenant_id": "Acme", "env_id": "prod"}, "id.invalid"),
        ({"tenant_id": "acme", "env_id": "../prod"}, "id.invalid"),
        ({"tenant_id": "acme", "env_id": "prod", "session_id": "s/1"}, "id.invalid"),
    ],
)
def test_a_malformed_job_names_no_context(job: dict[str, Any], code: str) -> None:
    with pytest.raises(TenantryError) as refused:
        context.context_of_job(job)
    assert (refused.value.kind, refused.value.code) == (ErrorKind.INVALID, code)


async def test_the_registry_is_asked_again_for_every_piece_of_work(fleet: Services) -> None:
    job = {"tenant_id": "acme", "env_id": "prod"}
    await context.scope_of_job(fleet.scopes, job)  # queued while acme was active
    async with fleet.engine.begin() as db:
        suspend = update(TenantRow).where(TenantRow.id == "acme")
        await db.execute(suspend.values(lifecycle_state="suspended"))
    for work in (context.scope_of_job(fleet.scopes, job),
                 context.scope_of_subject(fleet.scopes, SUBJECT)):  # fmt: skip
        with pytest.raises(TenantryError) as refused:
            await work
        assert refused.value.code == "tenant.suspended"
    for ghost in ({"tenant_id": "ghost", "env_id": "prod"}, {"tenant_id": "beta", "env_id": "dev"}):
        with pytest.raises(TenantryError) as missing:
            await context.scope_of_job(fleet.scopes, ghost)
        assert missing.value.kind is ErrorKind.NOT_FOUND
