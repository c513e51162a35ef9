"""One contract for every blob space: the local directory and S3 (moto)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tenantry.backends.s3.blobs import S3BlobSpace
from tenantry.backends.s3.objects import S3Settings, s3_client
from tenantry.core.errors import InvalidInput, Unavailable
from tenantry.runtime.blobs import (
    BlobConflict,
    BlobNotFound,
    BlobSpace,
    BlobTooLarge,
    PageLimitInvalid,
)
from tests.contract.runtime_blobs.conftest import Backend

BAD_KEYS = [
    "",
    "/etc/passwd",
    "../escape",
    "a/../../escape",
    "a/./b",
    "a//b",
    "a/",
    "nul\x00byte",
    "back\\slash",
    "line\nbreak",
    "x" * 1025,
]


async def _all(space: BlobSpace, prefix: str = "", *, limit: int = 1000) -> list[str]:
    keys: list[str] = []
    after = None
    while True:
        page = await space.list(prefix, after=after, limit=limit)
        keys += page
        if len(page) < limit:
            return keys
        after = page[-1]


async def test_round_trip_versions_and_delete(backend: Backend) -> None:
    space = backend.space("round")
    first = await space.put("a/b.bin", b"one")
    blob = await space.get("a/b.bin")
    assert (blob.data, blob.version) == (b"one", first)
    second = await space.put("a/b.bin", b"two")
    assert second != first and (await space.get("a/b.bin")).data == b"two"
    assert await space.delete("a/b.bin") is True
    assert await space.delete("a/b.bin") is False
    with pytest.raises(BlobNotFound):
        await space.get("a/b.bin")


async def test_missing_things_are_not_found(backend: Backend) -> None:
    space = backend.space("missing")
    with pytest.raises(BlobNotFound) as caught:
        await space.get("no/such/key")
    assert caught.value.code == "blob.not_found"
    assert await space.delete("no/such/key") is False
    assert await space.list("no/") == []


async def test_create_only_writes(backend: Backend) -> None:
    space = backend.space("absent")
    await space.put("k", b"first", if_absent=True)
    with pytest.raises(BlobConflict) as caught:
        await space.put("k", b"second", if_absent=True)
    assert caught.value.code == "blob.precondition_failed"
    assert (await space.get("k")).data == b"first"


async def test_conditional_writes_and_deletes(backend: Backend) -> None:
    space = backend.space("match")
    old = await space.put("k", b"v1")
    new = await space.put("k", b"v2", if_match=old)
    with pytest.raises(BlobConflict):
        await space.put("k", b"stale", if_match=old)
    with pytest.raises(BlobConflict):
        await space.delete("k", if_match=old)
    assert (await space.get("k")).data == b"v2"
    with pytest.raises(BlobConflict):
        await space.put("gone", b"x", if_match=new)
    with pytest.raises(BlobNotFound):
        await space.get("gone")
    assert await space.delete("k", if_match=new) is True
    assert await space.delete("k", if_match=new) is False


async def test_a_race_on_one_version_has_one_winner(backend: Backend) -> None:
    space = backend.space(f"race-{uuid.uuid4().hex[:6]}")
    if backend.root is not None:  # real threads, so the writers truly overlap
        from tenantry.backends.fs.blobs import LocalBlobSpace  # noqa: PLC0415

        space = LocalBlobSpace(backend.root / "race", threads=True)
    version = await space.put("k", b"start")

    async def attempt(text: str) -> bool:
        try:
            await space.put("k", text.encode(), if_match=version)
        except BlobConflict:
            return False
        return True

    for turn in range(5):
        version = (await space.get("k")).version
        texts = [f"turn {turn} writer {n}" for n in range(8)]  # distinct bytes, distinct versions
        results = await asyncio.gather(*(attempt(text) for text in texts))
        assert sum(results) == 1
        assert (await space.get("k")).data == texts[results.index(True)].encode()


async def test_listing_is_sorted_paged_and_prefixed(backend: Backend) -> None:
    space = backend.space("list")
    keys = ["a-b", "a.b", "a/b", "a/c/d", "a0", "b", "ab/x", "é/1", "z/y/x/w"]
    for key in keys:
        await space.put(key, key.encode())
    assert await _all(space) == sorted(keys)
    assert await _all(space, limit=2) == sorted(keys)
    assert await space.list("a/") == ["a/b", "a/c/d"]
    assert await space.list("a") == sorted(k for k in keys if k.startswith("a"))
    assert await space.list("a", after="a/b") == ["a/c/d", "a0", "ab/x"]
    assert await space.list("", after="a/c/d", limit=2) == ["a0", "ab/x"]
    assert await space.list("", after="zzz") == ["é/1"]  # code point order, as S3
    assert await space.list("", after="é/1") == []


@pytest.mark.parametrize("key", BAD_KEYS)
async def test_bad_keys_are_refused_and_nothing_is_written(backend: Backend, key: str) -> None:
    space = backend.space("bad")
    for call in (
        space.put(key, b"x"),
        space.put(key, b"x", if_absent=True),
        space.get(key),
        space.delete(key),
        space.list("", after=key),
    ):
        with pytest.raises(InvalidInput) as caught:
            await call
        assert caught.value.code == "object_key.invalid"
    assert await space.list() == []


@pytest.mark.parametrize("prefix", ["/", "../", "a//", "\x00", "a/../"])
async def test_bad_prefixes_are_refused(backend: Backend, prefix: str) -> None:
    with pytest.raises(InvalidInput):
        await backend.space("bad-prefix").list(prefix)


@pytest.mark.parametrize("limit", [0, -1, 1001, True, 2.5])
async def test_page_limits(backend: Backend, limit: object) -> None:
    with pytest.raises(PageLimitInvalid):
        await backend.space("limits").list("", limit=limit)  # type: ignore[arg-type]


async def test_reads_can_be_bounded(backend: Backend) -> None:
    space = backend.space("bounded")
    await space.put("big", b"x" * 1000)
    with pytest.raises(BlobTooLarge) as caught:
        await space.get("big", max_bytes=999)
    assert caught.value.code == "blob.too_large"
    assert (await space.get("big", max_bytes=1000)).data == b"x" * 1000


async def test_empty_blob_and_unicode_keys(backend: Backend) -> None:
    space = backend.space("unicode")
    await space.put("ключ/日本", b"")
    assert (await space.get("ключ/日本")).data == b""
    assert await space.list() == ["ключ/日本"]


_SEGMENT = st.text(alphabet="ab-.0", min_size=1, max_size=3).filter(lambda s: s not in {".", ".."})


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    keys=st.sets(st.lists(_SEGMENT, min_size=1, max_size=3).map("/".join), max_size=12),
    limit=st.integers(min_value=1, max_value=5),
)
async def test_paging_visits_every_key_once_in_order(
    backend: Backend, keys: set[str], limit: int
) -> None:
    # A directory cannot also be a file, so keep only sets where no key is another's folder.
    keys = {k for k in keys if not any(o.startswith(k + "/") for o in keys)}
    space = backend.space(f"prop-{uuid.uuid4().hex[:8]}")
    for key in keys:
        await space.put(key, b"")
    assert await _all(space, limit=limit) == sorted(keys)


async def test_an_unreachable_s3_endpoint_is_transient() -> None:
    down = S3BlobSpace(s3_client(S3Settings("http://127.0.0.1:1", "us-east-1", "x", "x", "b")), "b")
    for call in (down.get("k"), down.put("k", b"v"), down.delete("k"), down.list()):
        with pytest.raises(Unavailable):
            await call


async def test_a_missing_bucket(s3: Any) -> None:
    space = S3BlobSpace(s3, f"absent-{uuid.uuid4().hex[:8]}")
    with pytest.raises(BlobNotFound):
        await space.get("k")
    assert await space.list() == []
    assert await space.delete("k") is False
    with pytest.raises(Unavailable, match="does not exist"):
        await space.put("k", b"v")
