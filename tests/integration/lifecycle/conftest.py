"""The lifecycle tests' stack: the embedded default, or PostgreSQL + S3 (moto) + Redis."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from tenantry.backends.s3.objects import S3Settings, s3_client
from tenantry.bootstrap import Services, services
from tenantry.core.settings import Settings
from tenantry.tenancy.controller.resources import Resource
from tests.conftest import empty

REDIS_URL = "redis://127.0.0.1:6379/13"


@pytest.fixture(params=["embedded", pytest.param("real", marks=pytest.mark.postgres)])
async def stack(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Services]:
    settings = Settings(data_dir=tmp_path / "data", database_url=f"sqlite:///{tmp_path / 'c.db'}")
    if request.param == "real":
        settings = settings.model_copy(
            update={
                "database_url": empty(request.getfixturevalue("postgres_url")),
                "objects": "s3",
                "s3_endpoint_url": request.getfixturevalue("s3_endpoint"),
                "s3_access_key": "test",
                "s3_secret_key": SecretStr("test"),
                "redis_url": REDIS_URL,
            }
        )
        _shared_bucket(settings)  # sessions and archives live there, whatever the profiles
    async with services(settings) as wired:
        yield wired
        for tenant in await wired.controller.everyone():
            for record in (await wired.registry.get(tenant)).resources:
                resource = Resource.from_dict(record)
                provisioner = next(
                    p for p in wired.controller.provisioners if p.kind is resource.kind
                )
                await provisioner.retire(resource)


def _shared_bucket(settings: Settings) -> None:
    bucket = settings.s3_shared_bucket
    client = s3_client(S3Settings(settings.s3_endpoint_url, "us-east-1", "test", "test", bucket))
    with contextlib.suppress(client.exceptions.BucketAlreadyOwnedByYou):
        client.create_bucket(Bucket=bucket)
