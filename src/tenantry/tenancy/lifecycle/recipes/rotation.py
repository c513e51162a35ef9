"""Rotate keys: a new key-encryption key version, every sealed record re-wrapped, the old
versions retired.

1. ``rotate`` records the active key id, then adds a version only while that id is still the
   active one, so a re-run makes no second version.
2. ``rewrap-{env}``, per environment: sessions and objects (page by page, the cursor recorded
   so a resumed job goes on where it stopped) and stored idempotent responses. Payloads are
   never re-encrypted: only each record's data key is wrapped anew.
3. ``rewrap-secrets``: the tenant's secret versions (tenant-wide, in the control database);
   ``rewrap-archives``: every file of the tenant's archives, their manifests written anew.
4. ``check``: a second pass over everything must find nothing left on an old key (a write that
   took the old key just before the rotation is caught here) and nothing that failed to open.
5. ``retire``: every version but the active one is removed from the keyring.
"""

from __future__ import annotations

from tenantry.core.errors import Conflict, Unavailable
from tenantry.runtime.rewrap import RewrapReport
from tenantry.runtime.scope import TenantScope
from tenantry.tenancy.lifecycle.archives import rewrap_every
from tenantry.tenancy.lifecycle.jobs import Job
from tenantry.tenancy.lifecycle.recipes.toolkit import Toolkit
from tenantry.tenancy.lifecycle.steps import Recipe, Step, Work

PAGE = 500  # records re-wrapped between two recorded cursors


class RecordsUnopened(Conflict):
    code = "keys.records_unopened"


def rotate_keys(toolkit: Toolkit) -> Recipe:
    keys = toolkit.keys

    async def rotate(work: Work) -> None:
        tenant = work.job.tenant_id
        old = work.outputs.get("replacing") or keys.kids(tenant)[-1]
        await work.remember(replacing=old)
        await work.remember(active=keys.rotate(tenant, replacing=old))

    def rewrap(env: str) -> Step:
        async def run(work: Work) -> None:
            scope = await work.maintenance.scope(work.job.tenant_id, env)
            for store in ("sessions", "objects"):
                await _rewrap_pages(work, scope, env, store)
            report = await toolkit.idempotency.rewrap(scope)
            _opened(report.failed, f"stored responses of {env}")

        return Step(f"rewrap-{env}", run)

    async def secrets(work: Work) -> None:
        scope = await _any_scope(toolkit, work)
        if scope is not None:
            _opened((await scope.secrets.rewrap()).failed, "secret versions")

    async def archives(work: Work) -> None:
        tenant = work.job.tenant_id
        if toolkit.archives is not None and toolkit.sealer is not None:
            await rewrap_every(toolkit.archives.space(tenant), toolkit.sealer, tenant)

    async def check(work: Work) -> None:
        tenant = work.job.tenant_id
        for env in await toolkit.environments(tenant):
            scope = await work.maintenance.scope(tenant, env)
            for report in (await scope.sessions.rewrap(), await scope.objects.rewrap()):
                _opened(report.failed, f"records of {env}")
                if report.rewrapped:
                    raise Unavailable(  # transient: the step runs again
                        f"{report.rewrapped} record(s) of {env} were still on an old key",
                        code="keys.rewrap_incomplete",
                    )
        anyone = await _any_scope(toolkit, work)
        if anyone is not None:
            stale = {k: n for k, n in (await anyone.secrets.key_usage()).items() if n}
            stale.pop(keys.kids(tenant)[-1], None)
            if stale:
                raise Unavailable(
                    f"secret versions still on old keys: {stale}", code="keys.rewrap_incomplete"
                )

    async def retire(work: Work) -> None:
        tenant = work.job.tenant_id
        for kid in keys.kids(tenant)[:-1]:
            keys.retire(tenant, kid)

    def steps(job: Job) -> list[Step]:
        envs = job.params.get("environments", [])
        return [
            Step("rotate", rotate),
            *(rewrap(env) for env in envs),
            Step("rewrap-secrets", secrets),
            Step("rewrap-archives", archives),
            Step("check", check),
            Step("retire", retire, final=True),
        ]

    return steps


async def _rewrap_pages(work: Work, scope: TenantScope, env: str, store: str) -> None:
    key = f"cursor:{env}:{store}"
    rewrap = scope.sessions.rewrap if store == "sessions" else scope.objects.rewrap
    cursor: str | None = work.outputs.get(key)
    while True:
        report: RewrapReport = await rewrap(after=cursor, limit=PAGE)
        _opened(report.failed, f"{store} of {env}")
        cursor = report.next_cursor
        await work.remember(**{key: cursor})
        if cursor is None:
            return


async def _any_scope(toolkit: Toolkit, work: Work) -> TenantScope | None:
    envs = await toolkit.environments(work.job.tenant_id)
    return await work.maintenance.scope(work.job.tenant_id, envs[0]) if envs else None


def _opened(failed: tuple[str, ...], what: str) -> None:
    if failed:
        shown = ", ".join(failed[:5])
        raise RecordsUnopened(
            f"{len(failed)} {what} did not open with the tenant's keys ({shown}); they keep"
            " their old key, which is not retired: restore them or remove them, then retry",
            details={"failed": list(failed[:50])},
        )
