"""The object store over every blob backend and placement: put/get/list/delete, keys, caps,
media types and the records that hold them (objects stored bare before types were kept too)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tenantry.core.errors import InvalidInput
from tenantry.runtime.crypto import Binding, Sealer, Undecryptable
from tenantry.runtime.objects.errors import (
    ContentTypeInvalid,
    CursorInvalid,
    ObjectCorrupt,
    ObjectKeyInvalid,
    ObjectNotFound,
    ObjectTooLarge,
)
from tenantry.runtime.objects.records import BARE, FRAMED
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
    written = await objects.put("reports/2025/q1.pdf", b"%PDF", content_type="application/pdf")
    assert (written.size, written.content_type) == (4, "application/pdf")
    found = await objects.get("reports/2025/q1.pdf")
    assert (found.data, found.content_type, found.etag) == (
        b"%PDF",
        "application/pdf",
        written.etag,
    )
    await objects.put("reports/2025/q1.pdf", b"%PDF v2")
    found = await objects.get("reports/2025/q1.pdf")
    assert (found.data, found.content_type) == (b"%PDF v2", "application/octet-stream")
    assert await objects.delete("reports/2025/q1.pdf") is True
    assert await objects.delete("reports/2025/q1.pdf") is False
    with pytest.raises(ObjectNotFound) as caught:
        await objects.get("reports/2025/q1.pdf")
    assert caught.value.code == "object.not_found"


async def test_sealed_with_the_object_binding(backend: Backend, sealer: Sealer) -> None:
    space = backend.objects("acme", "prod")
    store = ObjectStore("acme", "prod", space, sealer)
    await store.put("notes.txt", b"plain words", content_type="text/plain")
    stored = (await space.get("notes.txt")).data
    assert b"plain words" not in stored and b"text/plain" not in stored
    frame = sealer.open(Binding("acme", "prod", FRAMED, "notes.txt"), stored)
    assert frame == b"\x01\x0atext/plain" + b"plain words"
    with pytest.raises(Undecryptable):  # the type is sealed with the data, for this key only
        sealer.open(Binding("acme", "prod", FRAMED, "other.txt"), stored)


async def test_an_object_stored_bare_before_types_were_kept_still_reads(
    backend: Backend, sealer: Sealer
) -> None:
    space = backend.objects("acme", "prod")
    store = ObjectStore("acme", "prod", space, sealer)
    # Bare bytes that look like a frame stay bare: the purpose sealed with them says which.
    for data in (b"legacy bytes", b"\x01\x0atext/plainlooks framed", b""):
        await space.put("old", sealer.seal(Binding("acme", "prod", BARE, "old"), data))
        found = await store.get("old")
        assert (found.data, found.content_type) == (data, "application/octet-stream")
    await store.put("old", b"new", content_type="text/plain")
    assert (await store.get("old")).content_type == "text/plain"
    await space.put("moved", (await space.get("old")).data)  # bare or framed: bound to its key
    with pytest.raises(Undecryptable):
        await store.get("moved")


async def test_a_framed_record_that_is_not_a_frame_is_corrupt(
    backend: Backend, sealer: Sealer
) -> None:
    space = backend.objects("acme", "prod")
    store = ObjectStore("acme", "prod", space, sealer)
    for frame in (b"", b"\x01", b"\x02\x00data", b"\x01\x20text/plain", b"\x01\x02\xff\xfe"):
        await space.put("bad", sealer.seal(Binding("acme", "prod", FRAMED, "bad"), frame))
        with pytest.raises(ObjectCorrupt) as caught:
            await store.get("bad")
        assert caught.value.code == "object.corrupt"


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        (None, "application/octet-stream"),
        ("IMAGE/PNG", "image/png"),
        ("text/plain;charset=utf-8", "text/plain; charset=utf-8"),
        ('text/plain ; format="a\\"b"', 'text/plain; format="a\\"b"'),
        ("application/vnd.a+json; v=1; q=x", "application/vnd.a+json; v=1; q=x"),
    ],
)
async def test_types_are_kept_normalised(objects: ObjectStore, sent: str | None, kept: str) -> None:
    assert (await objects.put("k", b"x", content_type=sent)).content_type == kept
    assert (await objects.get("k")).content_type == kept


@pytest.mark.parametrize(
    "content_type",
    ["", "text", "*/*", "text/plain;", "text/plain; a=1; a=2", "a/b\x00", "a/b\n", "text/é"],
)
async def test_a_malformed_type_writes_nothing(objects: ObjectStore, content_type: str) -> None:
    await objects.put("kept", b"old", content_type="text/plain")
    for key in ("kept", "new"):
        with pytest.raises(ContentTypeInvalid) as caught:
            await objects.put(key, b"new", content_type=content_type)
        assert caught.value.code == "object.content_type_invalid"
    assert (await objects.list()).items == ("kept",)
    assert (await objects.get("kept")).data == b"old"


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
    assert (await store.get("small")).data == b"0123456789"
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
    assert (await objects.get(key)).data == key.encode("utf-8", "surrogatepass")
    assert key in (await objects.list(key)).items
    assert await objects.delete(key) is True
