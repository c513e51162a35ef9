"""The object store over every blob backend and placement: put/get/list/delete, keys, caps."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tenantry.core.errors import InvalidInput
from tenantry.runtime.crypto import Binding, Sealer
from tenantry.runtime.objects.errors import (
    CursorInvalid,
    ObjectKeyInvalid,
    ObjectNotFound,
    ObjectTooLarge,
)
from tenantry.runtime.objects.store import ObjectStore
from tenantry.tenancy.manifests.schemas import Profile
from tests.contract.runtime_blobs.conftest import Backend
from tests.contract.runtime_blobs.test_blob_space import BAD_KEYS

PROFILES = [Profile.MT_STANDARD, Profile.ST_DEDICATED]


@pytest.fixture(params=PROFILES, ids=["shared-prefix", "dedicated-bucket"])
def objects(request: pytest.FixtureRequest, backend: Backend, sealer: Sealer) -> ObjectStore:
    space = backend.objects("acme", "prod", profile=request.param)
    return ObjectStore("acme", "prod", space, sealer)


async def test_round_trip_and_delete(objects: ObjectStore) -> None:
    await objects.put("reports/2025/q1.pdf", b"%PDF")
    assert await objects.get("reports/2025/q1.pdf") == b"%PDF"
    await objects.put("reports/2025/q1.pdf", b"%PDF v2")
    assert await objects.get("reports/2025/q1.pdf") == b"%PDF v2"
    assert await objects.delete("reports/2025/q1.pdf") is True
    assert await objects.delete("reports/2025/q1.pdf") is False
    with pytest.raises(ObjectNotFound) as caught:
        await objects.get("reports/2025/q1.pdf")
    assert caught.value.code == "object.not_found"


async def test_sealed_with_the_object_binding(backend: Backend, sealer: Sealer) -> None:
    space = backend.objects("acme", "prod")
    await ObjectStore("acme", "prod", space, sealer).put("notes.txt", b"plain words")
    stored = (await space.get("notes.txt")).data
    assert b"plain words" not in stored
    assert sealer.open(Binding("acme", "prod", "object", "notes.txt"), stored) == b"plain words"


async def test_listing_by_prefix_with_pages(objects: ObjectStore) -> None:
    keys = ["a/1", "a/2", "a/3", "b/1", "ab"]
    for key in keys:
        await objects.put(key, key.encode())
    assert (await objects.list()).items == tuple(sorted(keys))
    assert (await objects.list("a/")).items == ("a/1", "a/2", "a/3")
    assert (await objects.list("a")).items == ("a/1", "a/2", "a/3", "ab")
    seen, cursor = [], None
    while True:
        page = await objects.list("a/", after=cursor, limit=2)
        seen += page.items
        if (cursor := page.next_cursor) is None:
            break
    assert seen == ["a/1", "a/2", "a/3"]


@pytest.mark.parametrize("key", [*BAD_KEYS, ".tenantry", ".tenantry/x"])
async def test_bad_keys_are_refused_and_nothing_is_written(objects: ObjectStore, key: str) -> None:
    for call in (objects.put(key, b"x"), objects.get(key), objects.delete(key)):
        with pytest.raises(ObjectKeyInvalid) as caught:
            await call
        assert caught.value.code == "object_key.invalid"
    assert (await objects.list()).items == ()


@pytest.mark.parametrize("cursor", ["../x", "/x", "a//b", "\x00"])
async def test_malformed_cursors(objects: ObjectStore, cursor: str) -> None:
    with pytest.raises(CursorInvalid):
        await objects.list(after=cursor)


async def test_the_platform_marker_is_hidden(backend: Backend, sealer: Sealer) -> None:
    space = backend.objects("acme", "prod")
    await space.put(".tenantry", b'{"tenant_id": "acme"}')  # as the S3 provisioner writes it
    store = ObjectStore("acme", "prod", space, sealer)
    await store.put("x", b"x")
    assert (await store.list()).items == ("x",)
    assert (await space.get(".tenantry")).data == b'{"tenant_id": "acme"}'


async def test_size_cap_writes_nothing(backend: Backend, sealer: Sealer) -> None:
    store = ObjectStore("acme", "prod", backend.objects("acme", "prod"), sealer, max_bytes=10)
    await store.put("small", b"0123456789")
    with pytest.raises(ObjectTooLarge) as caught:
        await store.put("big", b"0123456789!")
    assert caught.value.code == "object.too_large"
    with pytest.raises(ObjectTooLarge):
        await store.put("small", b"0123456789!")
    assert await store.get("small") == b"0123456789"
    assert (await store.list()).items == ("small",)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(key=st.text(min_size=0, max_size=20))
async def test_any_key_round_trips_or_is_refused(objects: ObjectStore, key: str) -> None:
    try:
        await objects.put(key, key.encode("utf-8", "surrogatepass"))
    except InvalidInput as error:
        assert error.code == "object_key.invalid"
        return
    assert await objects.get(key) == key.encode("utf-8", "surrogatepass")
    assert key in (await objects.list(key)).items
    assert await objects.delete(key) is True
