"""The deployment rule, pure: which tenants an instance serves, and how it refuses the rest."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from tenantry.core.errors import ErrorKind
from tenantry.core.settings import Settings
from tenantry.tenancy.deployment import MULTI_TENANT, Deployment, TenantNotServed
from tenantry.tenancy.registry.errors import TenantNotFound

ACME = Deployment.of(Settings(single_tenant="acme"))


@pytest.mark.parametrize(
    ("deployment", "tenant", "served"),
    [
        (MULTI_TENANT, "acme", True),
        (MULTI_TENANT, "bigcorp", True),
        (ACME, "acme", True),
        (ACME, "bigcorp", False),
        (ACME, "acme-2", False),
        (ACME, "acm", False),
    ],
)
def test_which_tenants_are_served(deployment: Deployment, tenant: str, served: bool) -> None:
    assert deployment.serves(tenant) is served
    assert deployment.served([tenant, "acme"]) == ([tenant] if served else []) + ["acme"]


def test_models_are_named() -> None:
    assert (MULTI_TENANT.model, ACME.model) == ("multi-tenant", "single-tenant")
    assert Deployment.of(Settings()) == MULTI_TENANT
    assert Deployment.of(Settings(single_tenant="")) == MULTI_TENANT


def test_another_tenant_is_not_found_at_runtime() -> None:
    ACME.check("acme")
    MULTI_TENANT.check("bigcorp")
    with pytest.raises(TenantNotFound) as refused:
        ACME.check("bigcorp")
    assert refused.value.kind is ErrorKind.NOT_FOUND


def test_a_write_naming_others_is_refused_naming_them() -> None:
    ACME.check_managed(["acme"])
    MULTI_TENANT.check_managed(["acme", "bigcorp"])
    with pytest.raises(TenantNotServed) as refused:
        ACME.check_managed(["zeta", "acme", "bigcorp"])
    assert refused.value.kind is ErrorKind.FORBIDDEN
    assert refused.value.code == "deployment.tenant_not_served"
    assert refused.value.details == {"tenant_ids": ["bigcorp", "zeta"], "single_tenant": "acme"}


@pytest.mark.parametrize("bad", ["ACME", "a.b", "acme*", "a b", "acme\r\n", "-acme", "x" * 33])
def test_a_bad_single_tenant_setting_is_refused_at_start(bad: str) -> None:
    with pytest.raises(ValidationError, match="single_tenant"):
        Settings(single_tenant=bad)


def test_the_setting_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TENANTRY_SINGLE_TENANT", "acme")
    assert Deployment.of(Settings()).single_tenant == "acme"
