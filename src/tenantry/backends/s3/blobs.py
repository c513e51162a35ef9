"""A blob space on the S3 API: one bucket, every key under a fixed prefix.

Versions are ETags. Conditional writes use S3's own ``If-Match`` / ``If-None-Match: *`` on
PutObject and ``If-Match`` on DeleteObject, so the check and the write are one atomic request on
S3 (and on other servers that implement them). The moto test server checks the condition and
writes in two steps under its own threads; tests against it exercise the contract, not S3's
atomicity. ``delete`` without ``if_match`` reads the head first to say whether the key existed.

boto3 is synchronous; calls run in worker threads. One client is meant to be shared by many
spaces (it is thread-safe and slow to build): see :func:`s3_client`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from botocore.exceptions import BotoCoreError, ClientError

from tenantry.backends.s3.objects import S3Unavailable
from tenantry.core import ids, names
from tenantry.runtime.blobs import (
    Blob,
    BlobConflict,
    BlobNotFound,
    BlobStat,
    BlobTooLarge,
    check_after,
    check_key,
    check_limit,
    check_prefix,
)
from tenantry.tenancy.isolation.placement import ObjectPlacement, Objects

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
else:
    S3Client = Any

T = TypeVar("T")
_MISSING = {"404", "NoSuchKey", "NotFound", "NoSuchBucket"}
_CONDITION = {"412", "PreconditionFailed", "409", "ConditionalRequestConflict"}


class S3BlobSpace:
    def __init__(self, client: S3Client, bucket: str, *, prefix: str = "") -> None:
        """``prefix`` is empty or ends in ``/`` (e.g. ``tenants/acme/prod/``)."""
        if prefix and not prefix.endswith("/"):
            raise ValueError(f"an S3 key prefix ends in '/', not {prefix!r}")
        if prefix:
            names.check_relative_key(prefix.removesuffix("/"))
        self._client = client
        self._bucket = bucket
        self._prefix = prefix

    @classmethod
    def for_objects(
        cls, client: S3Client, objects: ObjectPlacement, *, shared_bucket: str
    ) -> S3BlobSpace:
        """A tenant environment's object space: its own bucket or its shared-bucket prefix."""
        if objects.mode is Objects.DEDICATED_BUCKET and objects.bucket is not None:
            return cls(client, objects.bucket)
        if objects.mode is Objects.SHARED_PREFIX:
            return cls(client, shared_bucket, prefix=objects.prefix)
        raise ValueError(f"no S3 object space for placement mode {objects.mode}")

    @classmethod
    def for_archive(cls, client: S3Client, tenant: str, *, shared_bucket: str) -> S3BlobSpace:
        """A tenant's archive area: ``archive/{tenant}/`` in the shared bucket."""
        return cls(client, shared_bucket, prefix=names.archive_prefix(tenant))

    async def _call(self, key: str, work: Callable[[], T]) -> T:
        try:
            return await asyncio.to_thread(work)
        except ClientError as error:
            code = _code(error)
            if code in _MISSING:
                raise BlobNotFound(f"no blob {ids.show(key)}") from error
            if code in _CONDITION:
                raise BlobConflict(f"blob {ids.show(key)} changed meanwhile") from error
            raise S3Unavailable(f"S3 refused {ids.show(key)}: {code}") from error
        except BotoCoreError as error:
            raise S3Unavailable(f"the S3 endpoint is unavailable: {error}") from error

    async def get(self, key: str, *, max_bytes: int | None = None) -> Blob:
        full = self._prefix + check_key(key)

        def fetch() -> Blob:
            answer = self._client.get_object(Bucket=self._bucket, Key=full)
            body = answer["Body"]
            try:
                if max_bytes is not None and answer["ContentLength"] > max_bytes:
                    raise BlobTooLarge(f"blob {ids.show(key)} is larger than {max_bytes} bytes")
                return Blob(body.read(), answer["ETag"])
            finally:
                body.close()

        return await self._call(key, fetch)

    async def stat(self, key: str) -> BlobStat:
        full = self._prefix + check_key(key)
        answer = await self._call(
            key, lambda: self._client.head_object(Bucket=self._bucket, Key=full)
        )
        return BlobStat(answer["ContentLength"], answer["ETag"])

    async def put(
        self, key: str, data: bytes, *, if_match: str | None = None, if_absent: bool = False
    ) -> str:
        request: dict[str, Any] = {"Bucket": self._bucket, "Key": self._prefix + check_key(key)}
        if if_match is not None:
            request["IfMatch"] = if_match
        if if_absent:
            request["IfNoneMatch"] = "*"
        payload = bytes(data)
        try:
            answer = await self._call(key, lambda: self._client.put_object(Body=payload, **request))
        except BlobNotFound as missing:
            if if_match is None:  # only the bucket can be missing: not provisioned (yet)
                raise S3Unavailable(f"bucket {self._bucket!r} does not exist") from missing
            raise BlobConflict(f"blob {ids.show(key)} was removed meanwhile") from missing
        return answer["ETag"]

    async def delete(self, key: str, *, if_match: str | None = None) -> bool:
        full = self._prefix + check_key(key)
        try:
            if if_match is None:
                await self._call(
                    key, lambda: self._client.head_object(Bucket=self._bucket, Key=full)
                )
                await self._call(
                    key, lambda: self._client.delete_object(Bucket=self._bucket, Key=full)
                )
            else:
                await self._call(
                    key,
                    lambda: self._client.delete_object(
                        Bucket=self._bucket, Key=full, IfMatch=if_match
                    ),
                )
        except BlobNotFound:
            return False
        return True

    async def list(
        self, prefix: str = "", *, after: str | None = None, limit: int = 100
    ) -> list[str]:
        request: dict[str, Any] = {
            "Bucket": self._bucket,
            "Prefix": self._prefix + check_prefix(prefix),
            "MaxKeys": check_limit(limit),
        }
        if check_after(after) is not None:
            request["StartAfter"] = self._prefix + str(after)
        try:
            answer = await self._call(prefix, lambda: self._client.list_objects_v2(**request))
        except BlobNotFound:  # the bucket is gone: nothing to list
            return []
        start = len(self._prefix)
        return [item["Key"][start:] for item in answer.get("Contents", [])]


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))
