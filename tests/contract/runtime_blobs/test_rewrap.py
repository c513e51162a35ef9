"""Key rotation over every blob backend: sessions and objects re-wrapped to the active key, read
back equal, their old key retired; runs cut short or repeated converge; quotas stay as counted.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest

from tenantry.backends.keys.keyring import Keyring
from tenantry.core import names
from tenantry.core.errors import InvalidInput
from tenantry.runtime.blobs import BlobSpace
from tenantry.runtime.crypto import Binding, Sealer, Undecryptable, key_id
from tenantry.runtime.objects.records import BARE
from tenantry.runtime.objects.store import ObjectStore
from tenantry.runtime.rewrap import RewrapReport
from tenantry.runtime.sessions.errors import RevisionMismatch
from tenantry.runtime.sessions.store import SessionStore
from tenantry.tenancy.limits.quotas import Quotas
from tenantry.tenancy.limits.schemas import QuotaSpec, Resource, StorageSpec
from tenantry.tenancy.manifests.schemas import Profile
from tests.contract.runtime_blobs.conftest import TENANTS, Backend
from tests.quotas import control, used

ACME, BIGCORP = TENANTS
SESSIONS = [(team, f"s{n}") for team in (None, "support", "sales") for n in range(3)]
OBJECTS = {f"docs/{n}.txt": (f"object {n}".encode(), "text/plain") for n in range(6)}
ROOMY = QuotaSpec(bytes=1_000_000, count=100)
STORAGE = StorageSpec(sessions=ROOMY, objects=ROOMY, state=ROOMY, secrets=ROOMY)


@pytest.fixture
async def quotas(tmp_path: Path) -> AsyncIterator[Quotas]:
    async with control(tmp_path / "control", TENANTS, STORAGE) as built:
        yield built


@pytest.fixture
def sessions(backend: Backend, sealer: Sealer, quotas: Quotas) -> SessionStore:
    quota = quotas.bind(ACME)
    return SessionStore(ACME, "prod", backend.session_root(), sealer, quota=quota)


@pytest.fixture(
    params=[Profile.MT_STANDARD, Profile.ST_DEDICATED], ids=["shared-prefix", "dedicated-bucket"]
)
def objects(
    request: pytest.FixtureRequest, backend: Backend, sealer: Sealer, quotas: Quotas
) -> ObjectStore:
    space = backend.objects(ACME, "prod", profile=request.param)
    return ObjectStore(ACME, "prod", space, sealer, quota=quotas.bind(ACME))


async def _fill_sessions(store: SessionStore) -> None:
    for team, session in SESSIONS:
        await store.create(team, session, variables={"team": team, "n": session})


async def _fill_objects(store: ObjectStore) -> None:
    for key, (data, content_type) in OBJECTS.items():
        await store.put(key, data, content_type=content_type)


async def _session_kids(space: BlobSpace, tenant: str = ACME) -> set[str]:
    folder = names.session_folder(tenant, "prod", every_team=True)
    return {key_id((await space.get(path)).data) for path in await space.list(folder, limit=100)}


async def _object_kids(store: ObjectStore) -> set[str]:
    space: BlobSpace = store._space
    return {key_id((await space.get(key)).data) for key in await space.list("", limit=100)}


async def _session_view(store: SessionStore) -> list[tuple[object, ...]]:
    found = (await store.list(limit=100)).items
    return [(s.team_id, s.session_id, s.revision, s.variables, s.created_at) for s in found]


async def _object_view(store: ObjectStore) -> dict[str, tuple[bytes, str]]:
    view = {}
    for key in (await store.list(limit=100)).items:
        found = await store.get(key)
        view[key] = (found.data, found.content_type)
    return view


async def test_sessions_rotate_rewrap_and_retire(
    backend: Backend, keyring: Keyring, sessions: SessionStore, quotas: Quotas, sealer: Sealer
) -> None:
    bigcorp = SessionStore(BIGCORP, "prod", backend.session_root(), sealer)
    await bigcorp.create(None, "theirs", variables={"who": "bigcorp"})
    await _fill_sessions(sessions)
    before, counted = await _session_view(sessions), await used(quotas, ACME, Resource.SESSIONS)
    old, theirs = keyring.kids(ACME)[-1], keyring.kids(BIGCORP)
    new = keyring.rotate(ACME)
    assert await sessions.rewrap() == RewrapReport(new, rewrapped=len(SESSIONS))
    assert await _session_kids(backend.session_root()) == {new}
    assert await _session_view(sessions) == before
    assert await used(quotas, ACME, Resource.SESSIONS) == counted
    assert keyring.retire(ACME, old) is True
    assert await _session_view(sessions) == before
    assert await sessions.rewrap() == RewrapReport(new, current=len(SESSIONS))
    assert keyring.kids(BIGCORP) == theirs  # another tenant's key and records are untouched
    assert (await bigcorp.get(None, "theirs")).variables == {"who": "bigcorp"}


async def test_objects_rotate_rewrap_and_retire(
    keyring: Keyring, objects: ObjectStore, quotas: Quotas, sealer: Sealer
) -> None:
    await _fill_objects(objects)
    bare = sealer.seal(Binding(ACME, "prod", BARE, "old/bare.bin"), b"stored before types")
    await objects._space.put("old/bare.bin", bare)
    before, counted = await _object_view(objects), await used(quotas, ACME, Resource.OBJECTS)
    old = keyring.kids(ACME)[-1]
    new = keyring.rotate(ACME)
    assert await objects.rewrap() == RewrapReport(new, rewrapped=len(OBJECTS) + 1)
    assert await _object_kids(objects) == {new}
    assert await _object_view(objects) == before
    assert await used(quotas, ACME, Resource.OBJECTS) == counted
    keyring.retire(ACME, old)
    assert await _object_view(objects) == before
    assert before["old/bare.bin"] == (b"stored before types", "application/octet-stream")
    assert await objects.rewrap() == RewrapReport(new, current=len(OBJECTS) + 1)


async def test_a_rewrap_cut_short_goes_on_from_its_cursor(
    keyring: Keyring, sessions: SessionStore, objects: ObjectStore
) -> None:
    await _fill_sessions(sessions)
    await _fill_objects(objects)
    new = keyring.rotate(ACME)
    for store, total in ((sessions, len(SESSIONS)), (objects, len(OBJECTS))):
        first = await store.rewrap(limit=2)
        assert (first.rewrapped, first.current, first.next_cursor is not None) == (2, 0, True)
        second = await store.rewrap(after=first.next_cursor, limit=total)
        assert (second.kid, second.rewrapped, second.current) == (new, total - 2, 0)
        assert (await store.rewrap(after=second.next_cursor)).rewrapped == 0


async def test_an_interrupted_rewrap_run_again_from_the_start_converges(
    backend: Backend, keyring: Keyring, sessions: SessionStore, objects: ObjectStore
) -> None:
    await _fill_sessions(sessions)
    await _fill_objects(objects)
    before = (await _session_view(sessions), await _object_view(objects))
    old = keyring.kids(ACME)[-1]
    new = keyring.rotate(ACME)
    assert keyring.rotate(ACME, replacing=old) == new  # the job's rotate step, run again
    assert (await sessions.rewrap(limit=4)).rewrapped == 4  # then the process was killed
    assert (await objects.rewrap(limit=3)).rewrapped == 3
    assert await _session_kids(backend.session_root()) == {old, new}
    again = (await sessions.rewrap(), await objects.rewrap())
    assert [(r.rewrapped, r.current) for r in again] == [(5, 4), (3, 3)]
    keyring.retire(ACME, old)
    assert keyring.kids(ACME) == [new]
    assert (await _session_view(sessions), await _object_view(objects)) == before


async def test_a_session_read_before_a_rewrap_updates_at_its_revision(
    keyring: Keyring, sessions: SessionStore
) -> None:
    read = await sessions.create("support", "s1", variables={"step": 1})
    stale = await sessions.get("support", "s1")
    keyring.rotate(ACME)
    await sessions.rewrap()
    updated = await sessions.update(replace(read, variables={"step": 2}))
    assert updated.revision == 2
    assert (await sessions.get("support", "s1")).variables == {"step": 2}
    with pytest.raises(RevisionMismatch):  # a real change since still conflicts
        await sessions.update(replace(stale, variables={"step": 3}))


async def test_a_record_that_does_not_open_is_reported_and_left_as_it_is(
    backend: Backend, keyring: Keyring, sessions: SessionStore, objects: ObjectStore
) -> None:
    await _fill_sessions(sessions)
    await _fill_objects(objects)
    space = backend.session_root()
    path = names.session_path(ACME, "prod", "sales", "s1")
    broken = bytearray((await space.get(path)).data)
    broken[60] ^= 0x01  # inside the wrapped data key
    await space.put(path, bytes(broken))
    await objects._space.put("docs/9.txt", b"not sealed at all")
    await objects._space.put(".tenantry/owner", b"the platform's marker, not an object")
    keyring.rotate(ACME)
    report = await sessions.rewrap()
    assert (report.rewrapped, report.failed) == (len(SESSIONS) - 1, ("sales/s1.cbor",))
    assert (await space.get(path)).data == bytes(broken)
    found = await objects.rewrap()
    assert (found.rewrapped, found.failed) == (len(OBJECTS), ("docs/9.txt",))
    with pytest.raises(Undecryptable):
        await sessions.get("sales", "s1")


async def test_a_bad_cursor_or_limit_is_refused(
    sessions: SessionStore, objects: ObjectStore
) -> None:
    for store in (sessions, objects):
        with pytest.raises(InvalidInput, match="cursor"):
            await store.rewrap(after="../other")
        with pytest.raises(ValueError, match="one record or more"):
            await store.rewrap(limit=0)


async def test_writers_during_a_rewrap_lose_nothing(
    backend: Backend, keyring: Keyring, sessions: SessionStore, objects: ObjectStore
) -> None:
    await _fill_sessions(sessions)
    await _fill_objects(objects)
    read = [await sessions.get(team, session) for team, session in SESSIONS]
    new = keyring.rotate(ACME)

    async def write() -> None:
        for session in read:  # each read before the re-wrap, updated while it runs
            await sessions.update(replace(session, variables={"after": session.session_id}))
        for key in OBJECTS:
            await objects.put(key, b"written during the re-wrap")

    await asyncio.gather(write(), sessions.rewrap(), objects.rewrap())
    assert await _session_kids(backend.session_root()) == await _object_kids(objects) == {new}
    for session in await _session_view(sessions):
        assert (session[2], session[3]) == (2, {"after": session[1]})
    assert set((await _object_view(objects)).values()) == {
        (b"written during the re-wrap", "application/octet-stream")
    }
