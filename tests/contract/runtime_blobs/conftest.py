"""Blob-space backends for the session, object and blob contract suites.

Every suite here runs over the local directory backend and over S3 (the session's moto server).
A :class:`Backend` makes spaces on one backend: the session root every tenant shares, a tenant
environment's object space laid out as its placement says, or a scratch space for the port.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tenantry.backends.fs.blobs import LocalBlobSpace
from tenantry.backends.keys.keyring import Keyring
from tenantry.backends.s3.blobs import S3BlobSpace
from tenantry.backends.s3.objects import S3Settings, s3_client
from tenantry.runtime.blobs import BlobSpace
from tenantry.runtime.crypto import Sealer
from tenantry.tenancy.isolation.strategies import Layout, place
from tenantry.tenancy.manifests.schemas import Profile

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
else:
    S3Client = Any

TENANTS = ("acme", "bigcorp")


@dataclass
class Backend:
    name: str
    root: Path | None  # local only
    client: S3Client | None  # S3 only
    bucket: str  # S3: the shared bucket
    layout: Layout = field(default_factory=lambda: Layout(bucket_prefix=f"t{uuid.uuid4().hex[:8]}"))

    def space(self, label: str) -> BlobSpace:
        """A scratch space of its own."""
        if self.root is not None:
            return LocalBlobSpace(self.root / "scratch" / label)
        assert self.client is not None
        return S3BlobSpace(self.client, self.bucket, prefix=f"scratch/{label}/")

    def session_root(self) -> BlobSpace:
        """The space every tenant's sessions live in (paths start with ``sessions/``)."""
        if self.root is not None:
            return LocalBlobSpace(self.root / "runtime")
        assert self.client is not None
        return S3BlobSpace(self.client, self.bucket)

    def objects(
        self, tenant: str, env: str, *, profile: Profile = Profile.MT_STANDARD
    ) -> BlobSpace:
        """A tenant environment's object space, where its placement puts it."""
        placement = place(profile, tenant, env, self.layout).objects
        if self.root is not None:
            return LocalBlobSpace.for_objects(self.root / "objects", placement)
        assert self.client is not None
        if placement.bucket is not None:
            _bucket(self.client, placement.bucket)
        return S3BlobSpace.for_objects(self.client, placement, shared_bucket=self.bucket)


def _bucket(client: S3Client, name: str) -> None:
    with contextlib.suppress(client.exceptions.BucketAlreadyOwnedByYou):
        client.create_bucket(Bucket=name)


@pytest.fixture(scope="session")
def s3(s3_endpoint: str) -> S3Client:
    return s3_client(S3Settings(s3_endpoint, "us-east-1", "test", "test", "unused"))


@pytest.fixture(params=["local", "s3"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    if request.param == "local":
        yield Backend("local", tmp_path / "blobs", None, "")
        return
    client: S3Client = request.getfixturevalue("s3")
    bucket = f"blobs-{uuid.uuid4().hex[:12]}"
    _bucket(client, bucket)
    yield Backend("s3", None, client, bucket)


@pytest.fixture
def keyring(tmp_path: Path) -> Keyring:
    ring = Keyring(tmp_path / "keyring")
    for tenant in TENANTS:
        ring.create(tenant)
    return ring


@pytest.fixture
def sealer(keyring: Keyring) -> Sealer:
    return Sealer(keyring)
