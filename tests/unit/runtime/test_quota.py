"""The storage quota port: the runtime's resource names are tenancy's, the tenancy quota fits the
port, the unlimited quota admits anything, and a sealed size is known before sealing."""

from __future__ import annotations

import inspect

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tenantry.backends.keys.keyring import Keyring
from tenantry.core.errors import Conflict, TenantryError
from tenantry.runtime.crypto import Binding, Sealer, key_id, sealed_size
from tenantry.runtime.quota import REFUSALS, UNLIMITED, StorageQuota, Stored, refused, unlimited
from tenantry.tenancy.limits.errors import QuotaExceeded, QuotaTooLarge
from tenantry.tenancy.limits.quotas import TenantQuota
from tenantry.tenancy.limits.schemas import Resource


def test_the_runtime_names_the_resources_as_tenancy_does() -> None:
    assert [kind.value for kind in Stored] == [kind.value for kind in Resource]
    assert all(Resource(kind).value == kind.value for kind in Stored)


def test_the_refusals_are_the_quota_errors() -> None:
    assert {QuotaExceeded.code, QuotaTooLarge.code} == REFUSALS
    assert refused(QuotaExceeded("full")) and refused(QuotaTooLarge("large"))
    assert not refused(Conflict("taken")) and not refused(TenantryError("x", code="quota.other"))
    assert not refused(ValueError("quota.exceeded"))


def as_port(quota: TenantQuota) -> StorageQuota:
    return quota  # the tenancy quota fits the port (mypy --strict; bootstrap relies on it)


def test_a_tenant_quota_fits_the_port() -> None:
    for method in ("reserve", "release"):
        port = inspect.signature(getattr(StorageQuota, method))
        tenancy = inspect.signature(getattr(TenantQuota, method))
        assert list(port.parameters) == list(tenancy.parameters)


async def test_unlimited_admits_everything_and_counts_nothing() -> None:
    assert unlimited("acme") is UNLIMITED
    async with UNLIMITED.reserve(Stored.OBJECTS, 2**60, 10**12, item_bytes=2**60):
        pass
    await UNLIMITED.release(Stored.OBJECTS, 2**60, 10**12)


@pytest.fixture(scope="module")
def sealer(tmp_path_factory: pytest.TempPathFactory) -> Sealer:
    keyring = Keyring(tmp_path_factory.mktemp("keys"))
    keyring.create("acme")
    return Sealer(keyring)


@given(size=st.integers(min_value=0, max_value=5000))
def test_a_sealed_size_is_known_before_sealing(sealer: Sealer, size: int) -> None:
    sealed = sealer.seal(Binding("acme", "prod", "object", "a"), b"x" * size)
    assert len(sealed) == sealed_size(size, key_id(sealed))
