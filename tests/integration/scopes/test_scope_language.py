"""A scope's search stems by its tenant's ``settings.language`` as applied by manifest, on both
control databases and their tenant data (SQLite files, PostgreSQL schemas): a language change
re-applied by manifest reindexes the tenant on its next scope, and never touches another tenant."""

from __future__ import annotations

from typing import Any

from tenantry.bootstrap import Services
from tenantry.core.context import TenantCtx
from tenantry.runtime.scope import TenantScope
from tenantry.tenancy.manifests.schemas import Bundle, Environment, TenantSpec


def _spec(name: str, settings: dict[str, Any]) -> TenantSpec:
    return TenantSpec(name=name, settings=settings, environments=[Environment(id="prod")])


async def _apply(wired: Services, **settings: dict[str, Any]) -> None:
    await wired.registry.apply(Bundle(tenants={t: _spec(t, s) for t, s in settings.items()}))


async def _scope(wired: Services, tenant: str) -> TenantScope:
    return await wired.scopes.open(TenantCtx(tenant_id=tenant, env_id="prod"))


async def _ids(wired: Services, tenant: str, query: str) -> list[str]:
    scope = await _scope(wired, tenant)
    return sorted(hit.doc_id for hit in await scope.search.search(query))


async def test_the_manifest_language_stems_and_a_change_reindexes(wired: Services) -> None:
    await _apply(wired, acme={"language": "en-US"}, bigcorp={})
    outcomes = await wired.controller.reconcile_many(["acme", "bigcorp"], concurrency=2)
    assert {o.result for o in outcomes} == {"ready"}, [o.message for o in outcomes]
    acme, bigcorp = await _scope(wired, "acme"), await _scope(wired, "bigcorp")
    await acme.search.index("kb-1", title="Resetting your password", body="acme handbook")
    await bigcorp.search.index("b-1", title="Resetting payroll", body="bigcorp secret")
    assert await _ids(wired, "acme", "reset password") == ["kb-1"]
    assert await _ids(wired, "bigcorp", "reset") == []  # no language: no stemming

    await _apply(wired, acme={"language": "fr"}, bigcorp={"language": "English"})
    assert await _ids(wired, "acme", "reset password") == []  # no longer English
    assert await _ids(wired, "acme", "resetting password") == ["kb-1"]
    assert await _ids(wired, "bigcorp", "reset") == ["b-1"]
    assert await _ids(wired, "bigcorp", "password") == []  # never acme's documents

    await _apply(wired, acme={"language": "en"}, bigcorp={"language": "English"})
    assert await _ids(wired, "acme", "reset password") == ["kb-1"]  # and back again
    assert await _ids(wired, "acme", "payroll") == []
