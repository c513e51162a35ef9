"""Object spaces on the S3 API.

mt-standard: a prefix in one shared bucket, marked by a small ``.tenantry`` object that names
its owner (S3 has no folders, so the marker is what exists). st-dedicated: a bucket of its own.
boto3 is synchronous; calls run in a worker thread. Retiring empties what it removes.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError

from tenantry.core.errors import Unavailable
from tenantry.tenancy.controller.resources import Kind, Resource, object_space
from tenantry.tenancy.isolation.placement import Objects, Placement

T = TypeVar("T")
MARKER = ".tenantry"
_MISSING = {"404", "NoSuchBucket", "NoSuchKey", "NotFound"}


class S3Unavailable(Unavailable):
    code = "s3.unavailable"


@dataclass(frozen=True, slots=True)
class S3Settings:
    endpoint_url: str | None
    region: str
    access_key: str | None
    secret_key: str | None
    shared_bucket: str


def s3_client(settings: S3Settings) -> Any:
    """A boto3 S3 client with short timeouts, so an unreachable endpoint fails fast."""
    return boto3.client(
        "s3",
        endpoint_url=settings.endpoint_url,
        region_name=settings.region,
        aws_access_key_id=settings.access_key,
        aws_secret_access_key=settings.secret_key,
        config=Config(connect_timeout=3, read_timeout=10, retries={"max_attempts": 2}),
    )


class S3ObjectProvisioner:
    kind = Kind.OBJECTS

    def __init__(self, settings: S3Settings) -> None:
        self._settings = settings
        self._client = s3_client(settings)

    def wanted(self, placement: Placement) -> Resource | None:
        return object_space(placement)

    async def _call(self, work: Callable[[], T]) -> T:
        try:
            return await asyncio.to_thread(work)
        except (EndpointConnectionError, BotoCoreError) as error:
            if isinstance(error, ClientError):
                raise
            raise S3Unavailable(f"the S3 endpoint is unavailable: {error}") from error

    async def exists(self, resource: Resource) -> bool:
        try:
            if resource.variant == Objects.DEDICATED_BUCKET:
                await self._call(lambda: self._client.head_bucket(Bucket=resource.name))
            else:
                shared, key = self._settings.shared_bucket, resource.name + MARKER
                await self._call(lambda: self._client.head_object(Bucket=shared, Key=key))
        except ClientError as error:
            if _code(error) in _MISSING:
                return False
            raise
        return True

    async def ensure(self, resource: Resource) -> None:
        if resource.variant == Objects.DEDICATED_BUCKET:
            await self._create_bucket(resource.name)
            return
        await self._create_bucket(self._settings.shared_bucket)
        marker = json.dumps({"tenant_id": resource.tenant_id, "env_id": resource.env_id})
        shared, key = self._settings.shared_bucket, resource.name + MARKER
        await self._call(lambda: self._client.put_object(Bucket=shared, Key=key, Body=marker))

    async def retire(self, resource: Resource) -> None:
        if resource.variant == Objects.DEDICATED_BUCKET:
            if await self.exists(resource):
                await self._empty(resource.name, "")
                await self._call(lambda: self._client.delete_bucket(Bucket=resource.name))
            return
        await self._empty(self._settings.shared_bucket, resource.name)

    async def close(self) -> None:
        """Nothing held between calls."""

    async def _create_bucket(self, name: str) -> None:
        try:
            await self._call(lambda: self._client.create_bucket(Bucket=name))
        except ClientError as error:
            if _code(error) not in {"BucketAlreadyOwnedByYou", "BucketAlreadyExists"}:
                raise

    async def _empty(self, bucket: str, prefix: str) -> None:
        def empty() -> None:
            pages = self._client.get_paginator("list_objects_v2").paginate(
                Bucket=bucket, Prefix=prefix
            )
            for page in pages:
                keys: list[Any] = [{"Key": item["Key"]} for item in page.get("Contents", [])]
                if keys:
                    self._client.delete_objects(Bucket=bucket, Delete={"Objects": keys})

        try:
            await self._call(empty)
        except ClientError as error:
            if _code(error) not in _MISSING:
                raise


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))
