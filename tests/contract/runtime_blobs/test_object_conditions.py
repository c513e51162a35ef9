"""Object ETags and preconditions over every blob backend: a new ETag for every write, the same
one from put, get and the check of a change; If-Match-like and create-only writes and deletes,
also when writers race; tenants apart."""

from __future__ import annotations

import asyncio
import re

import pytest

from tenantry.runtime.crypto import Sealer
from tenantry.runtime.objects.errors import ObjectNotFound, PreconditionFailed
from tenantry.runtime.objects.records import Records
from tenantry.runtime.objects.schemas import Precondition
from tenantry.runtime.objects.store import ObjectStore
from tests.contract.runtime_blobs.conftest import Backend

HEX = re.compile(r"[0-9a-f]{32}")


@pytest.fixture
def objects(backend: Backend, sealer: Sealer) -> ObjectStore:
    return ObjectStore("acme", "prod", backend.objects("acme", "prod"), sealer)


def at(etag: str) -> Precondition:
    return lambda current: current == etag


def absent(current: str | None) -> bool:
    return current is None


async def test_every_write_has_its_own_etag(objects: ObjectStore) -> None:
    tags = []
    for data in (b"same", b"same", b"other"):
        written = await objects.put("k", data)
        assert HEX.fullmatch(written.etag)
        assert (await objects.get("k")).etag == written.etag == (await objects.get("k")).etag
        tags.append(written.etag)
    assert len(set(tags)) == 3


async def test_etags_are_the_tenants_own(backend: Backend, sealer: Sealer) -> None:
    space = backend.objects("bigcorp", "prod")
    theirs = ObjectStore("bigcorp", "prod", space, sealer)
    mine = ObjectStore("acme", "prod", backend.objects("acme", "prod"), sealer)
    assert (await mine.put("k", b"x")).etag != (await theirs.put("k", b"x")).etag
    # Even one blob version under two tenants' names would not give one ETag.
    version = (await space.stat("k")).version
    acme, bigcorp = Records("acme", "prod", sealer), Records("bigcorp", "prod", sealer)
    assert acme.etag("k", version) != bigcorp.etag("k", version)


async def test_a_precondition_is_asked_about_the_current_etag(objects: ObjectStore) -> None:
    seen: list[str | None] = []

    def record(current: str | None) -> bool:
        seen.append(current)
        return True

    first = await objects.put("k", b"1", precondition=record)
    second = await objects.put("k", b"2", precondition=record)
    assert await objects.delete("k", precondition=record)
    assert seen == [None, first.etag, second.etag]


async def test_a_write_over_the_etag_read_only(objects: ObjectStore) -> None:
    first = await objects.put("k", b"1")
    second = await objects.put("k", b"2", precondition=at(first.etag))
    with pytest.raises(PreconditionFailed) as caught:
        await objects.put("k", b"lost update", precondition=at(first.etag))
    assert caught.value.code == "precondition.failed"
    found = await objects.get("k")
    assert (found.data, found.etag) == (b"2", second.etag)


async def test_create_only_and_writes_that_need_an_object(objects: ObjectStore) -> None:
    with pytest.raises(PreconditionFailed):
        await objects.put("k", b"x", precondition=lambda current: current is not None)
    with pytest.raises(ObjectNotFound):
        await objects.get("k")
    created = await objects.put("k", b"first", precondition=absent)
    with pytest.raises(PreconditionFailed):
        await objects.put("k", b"second", precondition=absent)
    assert (await objects.get("k")).etag == created.etag
    assert (await objects.list()).items == ("k",)


async def test_a_delete_over_the_etag_read_only(objects: ObjectStore) -> None:
    first = await objects.put("k", b"1")
    second = await objects.put("k", b"2")
    with pytest.raises(PreconditionFailed):
        await objects.delete("k", precondition=at(first.etag))
    assert (await objects.get("k")).data == b"2"
    assert await objects.delete("k", precondition=at(second.etag)) is True
    # No object: not found whatever the precondition, as a delete without one.
    assert await objects.delete("k", precondition=at(second.etag)) is False


async def test_of_writers_racing_over_one_etag_one_wins(objects: ObjectStore) -> None:
    start = await objects.put("k", b"start")

    async def write(n: int) -> str | None:
        try:
            return (
                await objects.put("k", f"writer {n}".encode(), precondition=at(start.etag))
            ).etag
        except PreconditionFailed:
            return None

    outcomes = await asyncio.gather(*(write(n) for n in range(8)))
    winners = [etag for etag in outcomes if etag is not None]
    assert len(winners) == 1, outcomes
    assert (await objects.get("k")).etag == winners[0]


async def test_of_creators_racing_for_one_key_one_wins(objects: ObjectStore) -> None:
    async def create(n: int) -> bool:
        try:
            await objects.put("k", f"creator {n}".encode(), precondition=absent)
        except PreconditionFailed:
            return False
        return True

    assert sum(await asyncio.gather(*(create(n) for n in range(8)))) == 1


async def test_another_tenants_object_is_no_object_to_a_precondition(
    backend: Backend, sealer: Sealer
) -> None:
    theirs = ObjectStore("bigcorp", "prod", backend.objects("bigcorp", "prod"), sealer)
    mine = ObjectStore("acme", "prod", backend.objects("acme", "prod"), sealer)
    their = await theirs.put("k", b"bigcorp's")
    with pytest.raises(PreconditionFailed):
        await mine.put("k", b"x", precondition=at(their.etag))
    assert await mine.delete("k", precondition=at(their.etag)) is False
    await mine.put("k", b"acme's", precondition=absent)
    found = await theirs.get("k")
    assert (found.data, found.etag) == (b"bigcorp's", their.etag)
