"""A tenant store reaches its own scopes only: team lookups fall back to the tenant, never to
``global/`` or another tenant, and no name or team passed in reaches another tenant's rows."""

from __future__ import annotations

import pytest

from tenantry.core.errors import ErrorKind, InvalidInput
from tenantry.runtime.secrets import SecretNotFound
from tests.integration.secrets.conftest import Kit

HOSTILE_NAMES = [
    "../globex/token",
    "globex/token",
    "global/token",
    "teams/support/token",
    "/token",
    "token/",
    "..",
    "globex%2ftoken",
    "token\x00globex",
    "TOKEN",
    "t\u043eken",  # Cyrillic o
    "token ",
    "",
    "x" * 65,
    "\uff41pi_key",
]
HOSTILE_TEAMS = ["../globex", "support/../..", "Support", "sup port", "", "\u0455upport", "a/b"]


async def test_a_team_lookup_falls_back_to_its_tenant(kit: Kit) -> None:
    store = kit.store("acme")
    await store.put("token", "tenant-wide")
    secret = await store.get("token", team="support")
    assert (secret.path, secret.team, secret.value.reveal()) == ("acme/token", None, b"tenant-wide")
    await store.put("token", "team-own", team="support")
    secret = await store.get("token", team="support")
    assert (secret.path, secret.team, secret.value.reveal()) == (
        "acme/teams/support/token",
        "support",
        b"team-own",
    )
    assert (await store.get("token", team="sales")).value.reveal() == b"tenant-wide"


async def test_a_missing_team_version_does_not_fall_back(kit: Kit) -> None:
    store = kit.store("acme")
    await store.put("token", "t1")
    await store.put("token", "t2")
    await store.put("token", "team-1", team="support")
    with pytest.raises(SecretNotFound):
        await store.get("token", team="support", version=2)
    # A team without the secret at all asks its tenant, version and all.
    assert (await store.get("token", team="sales", version=2)).value.reveal() == b"t2"


async def test_a_team_lookup_never_falls_back_to_global_or_another_tenant(kit: Kit) -> None:
    await kit.platform().put("token", "global-value")
    await kit.store("globex").put("token", "globex-value")
    await kit.store("globex").put("token", "globex-team", team="support")
    store = kit.store("acme")
    for team in (None, "support"):
        with pytest.raises(SecretNotFound):
            await store.get("token", team=team)
    assert await store.list() == [] and await store.list(team="support") == []


async def test_a_store_never_touches_another_tenants_secrets(kit: Kit) -> None:
    globex = kit.store("globex")
    await globex.put("token", "globex-secret")
    await globex.put("token", "globex-team", team="support")
    before = await kit.rows()
    acme = kit.store("acme")
    for team in (None, "support"):
        with pytest.raises(SecretNotFound):
            await acme.get("token", team=team)
        with pytest.raises(SecretNotFound):
            await acme.versions("token", team=team)
        with pytest.raises(SecretNotFound):
            await acme.delete("token", team=team)
        with pytest.raises(SecretNotFound):
            await acme.prune("token", team=team)
        assert await acme.list(team=team) == []
    for team in (None, "support"):
        await acme.put("token", f"acme-{team}", team=team)  # its own secret, not an overwrite
    assert [r for r in await kit.rows() if r["tenant_id"] == "globex"] == before
    assert (await globex.get("token")).value.reveal() == b"globex-secret"
    assert (await acme.get("token")).value.reveal() == b"acme-None"
    assert (await acme.get("token", team="support")).value.reveal() == b"acme-support"


@pytest.mark.parametrize("name", HOSTILE_NAMES)
async def test_hostile_names_are_refused_before_anything_happens(kit: Kit, name: str) -> None:
    await kit.store("globex").put("token", "globex-secret")
    await kit.platform().put("token", "global-secret")
    before = await kit.rows()
    store = kit.store("acme")
    for call in (
        lambda: store.put(name, "overwrite"),
        lambda: store.get(name),
        lambda: store.versions(name),
        lambda: store.delete(name),
        lambda: store.prune(name),
        lambda: store.put(name, "x", team="support"),
        lambda: store.get(name, team="support"),
    ):
        with pytest.raises(InvalidInput) as caught:
            await call()
        assert (caught.value.kind, caught.value.code) == (ErrorKind.INVALID, "id.invalid")
    assert await kit.rows() == before


@pytest.mark.parametrize("team", HOSTILE_TEAMS)
async def test_hostile_teams_are_refused_before_anything_happens(kit: Kit, team: str) -> None:
    await kit.store("globex").put("token", "globex-secret", team="support")
    before = await kit.rows()
    store = kit.store("acme")
    for call in (
        lambda: store.put("token", "x", team=team),
        lambda: store.get("token", team=team),
        lambda: store.list(team=team),
        lambda: store.versions("token", team=team),
        lambda: store.delete("token", team=team),
    ):
        with pytest.raises(InvalidInput):
            await call()
    assert await kit.rows() == before


async def test_platform_secrets_live_apart_from_every_tenant(kit: Kit) -> None:
    platform = kit.platform()
    await platform.put("smtp_password", "global-value")
    tenant = kit.store("platform")  # a tenant that happens to be called "platform"
    await tenant.put("smtp_password", "tenant-value")
    assert (await platform.get("smtp_password")).value.reveal() == b"global-value"
    assert (await tenant.get("smtp_password")).value.reveal() == b"tenant-value"
    assert [s.path for s in await platform.list()] == ["global/smtp_password"]
    assert [s.path for s in await tenant.list()] == ["platform/smtp_password"]
    assert kit.platform_keyring.kids("platform") != kit.keyring.kids("platform")
    kit.keyring.destroy("platform")  # shredding that tenant leaves the platform key alone
    assert (await platform.get("smtp_password")).value.reveal() == b"global-value"


async def test_no_tenant_store_can_be_bound_to_global(kit: Kit) -> None:
    for tenant in ("global", "Global", "../global", ""):
        with pytest.raises(InvalidInput):
            kit.store(tenant)
