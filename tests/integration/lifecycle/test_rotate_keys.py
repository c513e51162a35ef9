"""Rotate keys: a new key version, every sealed record re-wrapped, the old version retired,
and every session, object and secret reads back, on both defaults."""

from __future__ import annotations

from tenantry.backends.keys.keyring import Keyring
from tenantry.bootstrap import Services
from tenantry.core.context import TenantCtx
from tenantry.tenancy.lifecycle.jobs import JobState
from tenantry.tenancy.lifecycle.states import JobKind, LifecycleState
from tenantry.tenancy.manifests.schemas import Profile
from tests.integration.controller.test_data_safety import _new_tenant, _read, _settle, _write


async def test_rotate_keys_rewraps_everything_and_retires_the_old_version(
    stack: Services,
) -> None:
    tenant = _new_tenant()
    await _settle(stack, tenant, Profile.MT_STANDARD, "prod", "staging")
    for env in ("prod", "staging"):
        await _write(stack, tenant, env)
    scope = await stack.scopes.open(TenantCtx(tenant_id=tenant, env_id="prod"))
    await scope.secrets.put("api-token", "s3cr3t")
    old = _kids(stack, tenant)
    job = await stack.lifecycle.request(JobKind.ROTATE_KEYS, tenant, actor="test")
    done = await stack.jobs.run(job.id)
    assert done is not None and done.state is JobState.SUCCEEDED, done
    assert [s.name for s in done.steps] == [
        "rotate",
        "rewrap-prod",
        "rewrap-staging",
        "rewrap-secrets",
        "rewrap-archives",
        "check",
        "retire",
    ]
    new = _kids(stack, tenant)
    assert len(new) == 1 and new[0] not in old
    for env in ("prod", "staging"):
        await _read(stack, tenant, env)
    assert (await scope.secrets.get("api-token")).value.reveal() == b"s3cr3t"
    assert (await stack.registry.get(tenant)).lifecycle_state is LifecycleState.ACTIVE


def _kids(wired: Services, tenant: str) -> list[str]:
    return Keyring(wired.settings.data_dir.resolve()).kids(tenant)


async def test_an_archive_restores_after_its_tenants_keys_rotate(stack: Services) -> None:
    tenant = _new_tenant()
    await _settle(stack, tenant, Profile.MT_STANDARD, "prod")
    await _write(stack, tenant, "prod")
    for kind in (JobKind.ARCHIVE, JobKind.ROTATE_KEYS, JobKind.RESTORE):
        job = await stack.lifecycle.request(kind, tenant, actor="test")
        done = await stack.jobs.run(job.id)
        assert done is not None and done.state is JobState.SUCCEEDED, (kind, done)
    assert len(_kids(stack, tenant)) == 1  # the archive's key version was retired
    await _read(stack, tenant, "prod")
