"""Object moves on the S3 API: between a prefix of the shared bucket and a dedicated bucket.

A listing is one ``ListObjectsV2`` page per thousand keys and tags each key with its ETag (the
MD5 of its bytes for a single-part upload, which every Tenantry write is, and kept by a
server-side copy), so comparing both sides costs no download. Copies are server-side
(``CopyObject``); digests download the bytes and hash them (SHA-256). boto3 is synchronous:
calls run in worker threads, a bounded number at once.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from botocore.exceptions import BotoCoreError, ClientError

from tenantry.backends.s3.objects import S3Unavailable
from tenantry.tenancy.isolation.placement import ObjectPlacement, Objects
from tenantry.tenancy.lifecycle.moving import platform_key

T = TypeVar("T")
_MISSING = {"404", "NoSuchKey", "NotFound", "NoSuchBucket"}


class S3ObjectMover:
    """``tenancy.lifecycle.moving.ObjectMover`` on one S3 endpoint."""

    def __init__(self, client: Any, *, shared_bucket: str, threads: int = 16) -> None:
        self._client, self._shared, self._gate = client, shared_bucket, asyncio.Semaphore(threads)

    def _where(self, space: ObjectPlacement) -> tuple[str, str]:
        if space.mode is Objects.DEDICATED_BUCKET and space.bucket is not None:
            return space.bucket, ""
        if space.mode is Objects.SHARED_PREFIX:
            return self._shared, space.prefix
        raise ValueError(f"no S3 object space for placement mode {space.mode}")

    async def _call(self, work: Callable[[], T]) -> T:
        async with self._gate:
            try:
                return await asyncio.to_thread(work)
            except BotoCoreError as error:
                raise S3Unavailable(f"the S3 endpoint is unavailable: {error}") from error

    async def listing(self, space: ObjectPlacement) -> dict[str, str]:
        bucket, prefix = self._where(space)

        def listed() -> dict[str, str]:
            found: dict[str, str] = {}
            pages = self._client.get_paginator("list_objects_v2").paginate(
                Bucket=bucket, Prefix=prefix
            )
            for page in pages:
                for item in page.get("Contents", []):
                    key = str(item["Key"])[len(prefix) :]
                    if key and not platform_key(key):
                        found[key] = str(item["ETag"]).strip('"')
            return found

        try:
            return await self._call(listed)
        except ClientError as error:
            if _code(error) in _MISSING:
                return {}
            raise S3Unavailable(f"S3 refused a listing of {bucket}: {_code(error)}") from error

    async def copy(
        self, source: ObjectPlacement, target: ObjectPlacement, keys: Sequence[str]
    ) -> None:
        (src, src_prefix), (dst, dst_prefix) = self._where(source), self._where(target)

        async def one(key: str) -> None:
            origin = {"Bucket": src, "Key": src_prefix + key}
            try:
                await self._call(
                    lambda: self._client.copy_object(
                        CopySource=origin, Bucket=dst, Key=dst_prefix + key
                    )
                )
            except ClientError as error:
                if _code(error) not in _MISSING:  # deleted since listed: the catch-up removes it
                    raise S3Unavailable(f"S3 refused a copy: {_code(error)}") from error

        await asyncio.gather(*(one(k) for k in keys))

    async def digests(self, space: ObjectPlacement, keys: Sequence[str]) -> dict[str, str]:
        bucket, prefix = self._where(space)
        found: dict[str, str] = {}

        async def one(key: str) -> None:
            def read() -> bytes:
                body = self._client.get_object(Bucket=bucket, Key=prefix + key)["Body"]
                return bytes(body.read())

            try:
                found[key] = hashlib.sha256(await self._call(read)).hexdigest()
            except ClientError as error:
                if _code(error) not in _MISSING:
                    raise S3Unavailable(f"S3 refused a read: {_code(error)}") from error

        await asyncio.gather(*(one(k) for k in keys))
        return found

    async def remove(self, space: ObjectPlacement, keys: Sequence[str]) -> None:
        bucket, prefix = self._where(space)

        def removed(batch: list[dict[str, str]]) -> Callable[[], object]:
            return lambda: self._client.delete_objects(Bucket=bucket, Delete={"Objects": batch})

        for start in range(0, len(keys), 1000):
            await self._call(removed([{"Key": prefix + k} for k in keys[start : start + 1000]]))


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))
