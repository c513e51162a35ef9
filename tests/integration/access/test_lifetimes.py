"""Token lifetimes: capped by each granted tenant's plan and by the token minting them."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tenantry.tenancy.access.errors import InvalidTtl
from tenantry.tenancy.access.schemas import PrincipalKind, Role
from tenantry.tenancy.limits.schemas import LimitsSpec
from tests.integration.access.support import ADMIN_TOKEN, Kit, bundle

DAY = timedelta(hours=24)


async def _with_limit(kit: Kit, tenant: str, limit: str | int) -> None:
    given = bundle("acme", "globex")
    spec = given.tenants[tenant].model_copy(
        update={"limits": LimitsSpec.model_validate({"max_token_ttl": limit})}
    )
    await kit.services.registry.apply(
        given.model_copy(update={"tenants": {**given.tenants, tenant: spec}})
    )


async def test_the_default_plan_caps_every_token_at_a_day(kit: Kit) -> None:
    issued = await kit.access.issue_token("ann", tenant="acme", role="viewer", ttl=DAY)
    assert issued.expires_at - issued.issued_at == DAY
    for kind, options in (
        (PrincipalKind.USER, {"tenant": "acme", "role": "viewer"}),
        (PrincipalKind.PLATFORM_ADMIN, {}),
    ):
        with pytest.raises(InvalidTtl) as refused:
            await kit.access.issue_token(
                "ann", kind=kind, ttl=DAY + timedelta(seconds=1), **options
            )
        assert refused.value.details["max_seconds"] == 86_400
        assert refused.value.details["limited_by"] == "plan"
        assert "86400" in refused.value.message and "max_token_ttl" in refused.value.message


async def test_a_plan_sets_max_token_ttl(kit: Kit) -> None:
    await _with_limit(kit, "acme", "10m")
    with pytest.raises(InvalidTtl) as refused:
        await kit.access.issue_token("ann", tenant="acme", role="viewer", ttl=timedelta(hours=1))
    assert refused.value.details == {
        "asked_seconds": 3600,
        "max_seconds": 600,
        "limited_by": "plan",
        "tenant_id": "acme",
    }
    assert "tenant 'acme'" in refused.value.message
    default = await kit.access.issue_token("ann", tenant="acme", role="viewer")
    assert default.expires_at - default.issued_at == timedelta(minutes=10)  # the cap, shorter
    other = await kit.access.issue_token("ann", tenant="globex", role="viewer")
    assert other.expires_at - other.issued_at == timedelta(hours=1)
    await _with_limit(kit, "acme", "7d")
    kit.access._limits.invalidate()  # type: ignore[attr-defined]
    week = await kit.access.issue_token("ann", tenant="acme", role="viewer", ttl=timedelta(days=7))
    assert week.expires_at - week.issued_at == timedelta(days=7)


async def test_a_token_mints_tokens_no_longer_lived_than_itself(kit: Kit) -> None:
    issued = await kit.access.issue_token(
        "ann", tenant="acme", role=Role.TENANT_ADMIN, ttl=timedelta(hours=1)
    )
    actor = await kit.access.authenticate(issued.token)
    assert actor.expires_at == int(issued.expires_at.timestamp())

    async def mint(ttl: timedelta | None) -> timedelta:
        minted = await kit.access.issue_token_as(
            actor, "bob", tenant="acme", team=None, role=Role.VIEWER, ttl=ttl
        )
        assert minted.expires_at <= issued.expires_at
        return minted.expires_at - minted.issued_at

    for asked in (timedelta(days=30), timedelta(hours=2), timedelta(seconds=3601)):
        with pytest.raises(InvalidTtl) as refused:
            await mint(asked)
        assert refused.value.details["limited_by"] == "issuer"
        assert refused.value.details["max_seconds"] == 3600
        assert "expires" in refused.value.message
    assert await mint(timedelta(hours=1)) == timedelta(hours=1)
    kit.clock.advance(timedelta(minutes=50))
    assert await mint(None) == timedelta(minutes=10)  # the default, cut to what is left
    with pytest.raises(InvalidTtl):
        await mint(timedelta(minutes=11))
    kit.clock.advance(timedelta(minutes=10))
    with pytest.raises(InvalidTtl) as refused:
        await mint(None)
    assert refused.value.details["max_seconds"] == 0


async def test_api_keys_and_the_admin_token_mint_under_the_plan_cap(kit: Kit) -> None:
    key = await kit.access.create_api_key("acme", role=Role.TENANT_ADMIN, name="minter")
    for credential in (key.secret, ADMIN_TOKEN):
        actor = await kit.access.authenticate(credential)
        assert actor.expires_at is None
        minted = await kit.access.issue_token_as(
            actor, "bob", tenant="acme", team=None, role=Role.VIEWER, ttl=DAY
        )
        assert minted.expires_at - minted.issued_at == DAY
        with pytest.raises(InvalidTtl) as refused:
            await kit.access.issue_token_as(
                actor, "bob", tenant="acme", team=None, role=Role.VIEWER, ttl=timedelta(days=2)
            )
        assert refused.value.details["limited_by"] == "plan"
