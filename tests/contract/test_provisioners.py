"""One contract for every provisioner: idempotent ensure/retire, and tenants kept apart."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from tenantry.backends.fs.objects import DirectoryObjectProvisioner
from tenantry.backends.keys.keyring import KeyProvisioner, Keyring
from tenantry.backends.nats.streams import JetStreamProvisioner
from tenantry.backends.postgres.relational import PostgresRelationalProvisioner
from tenantry.backends.s3.objects import S3ObjectProvisioner, S3Settings
from tenantry.backends.sqlite.relational import SqliteRelationalProvisioner
from tenantry.core.errors import Unavailable
from tenantry.tenancy.controller.resources import Provisioner
from tenantry.tenancy.isolation.strategies import Layout, place
from tenantry.tenancy.manifests.schemas import Profile
from tests.conftest import ADMIN_URL, NATS_URL

Factory = Callable[[Path], Provisioner]

FACTORIES: dict[str, tuple[Factory, Profile]] = {
    "keyring": (lambda root: KeyProvisioner(Keyring(root)), Profile.MT_STANDARD),
    "sqlite": (SqliteRelationalProvisioner, Profile.MT_STANDARD),
    "fs-shared-prefix": (DirectoryObjectProvisioner, Profile.MT_STANDARD),
    "fs-bucket": (DirectoryObjectProvisioner, Profile.ST_DEDICATED),
    "postgres-schema": (lambda _: PostgresRelationalProvisioner(ADMIN_URL), Profile.MT_STANDARD),
    "nats-shared-stream": (
        lambda _: JetStreamProvisioner(
            NATS_URL, layout=Layout(shared_stream=f"test_{uuid.uuid4().hex[:8]}")
        ),
        Profile.MT_STANDARD,
    ),
    "nats-dedicated-stream": (
        lambda _: JetStreamProvisioner(NATS_URL, layout=Layout()),
        Profile.ST_DEDICATED,
    ),
    "postgres-database": (
        lambda _: PostgresRelationalProvisioner(ADMIN_URL),
        Profile.ST_DEDICATED,
    ),
}


def _s3(endpoint: str) -> S3ObjectProvisioner:
    return S3ObjectProvisioner(S3Settings(endpoint, "us-east-1", "test", "test", "shared-test"))


S3_CASES = {"s3-shared-prefix": Profile.MT_STANDARD, "s3-bucket": Profile.ST_DEDICATED}


@pytest.fixture(params=sorted([*FACTORIES, *S3_CASES]))
async def case(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[Provisioner, Profile]]:
    if request.param.startswith("postgres"):
        request.applymarker(pytest.mark.postgres)
    if request.param in S3_CASES:
        provisioner, profile = _s3(request.getfixturevalue("s3_endpoint")), S3_CASES[request.param]
    else:
        factory, profile = FACTORIES[request.param]
        provisioner = factory(tmp_path)
    yield provisioner, profile
    await provisioner.close()


def _tenant() -> str:
    return f"t{uuid.uuid4().hex[:10]}"


async def test_ensure_and_retire_are_idempotent(case: tuple[Provisioner, Profile]) -> None:
    provisioner, profile = case
    resource = provisioner.wanted(place(profile, _tenant(), "prod"))
    assert resource is not None
    try:
        assert not await provisioner.exists(resource)
        await provisioner.ensure(resource)
        assert await provisioner.exists(resource)
        await provisioner.ensure(resource)
        assert await provisioner.exists(resource)
    finally:
        await provisioner.retire(resource)
    assert not await provisioner.exists(resource)
    await provisioner.retire(resource)


async def test_tenants_are_kept_apart(case: tuple[Provisioner, Profile]) -> None:
    provisioner, profile = case
    a = provisioner.wanted(place(profile, _tenant(), "prod"))
    b = provisioner.wanted(place(profile, _tenant(), "prod"))
    assert a is not None and b is not None and a.name != b.name
    try:
        await provisioner.ensure(a)
        assert not await provisioner.exists(b)
        await provisioner.ensure(b)
        await provisioner.retire(b)
        assert await provisioner.exists(a)
    finally:
        await provisioner.retire(a)
        await provisioner.retire(b)


async def test_unreachable_backends_are_transient_errors(tmp_path: Path) -> None:
    placement = place(Profile.ST_DEDICATED, _tenant(), "prod")
    down: list[Provisioner] = [
        _s3("http://127.0.0.1:1"),
        JetStreamProvisioner("nats://127.0.0.1:1", layout=Layout()),
        PostgresRelationalProvisioner("postgresql://postgres@127.0.0.1:1/x"),
    ]
    for provisioner in down:
        resource = provisioner.wanted(placement)
        assert resource is not None
        with pytest.raises(Unavailable):
            await provisioner.exists(resource)
        await provisioner.close()
