"""A store bound to tenant A cannot read, list, overwrite or delete tenant B's sessions or
objects, whatever ids, keys or paths it is given; bytes moved between tenants do not open."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tenantry.backends.keys.keyring import Keyring
from tenantry.core import names
from tenantry.core.errors import InvalidInput
from tenantry.runtime.blobs import UnsafePath
from tenantry.runtime.crypto import Sealer, Undecryptable
from tenantry.runtime.objects.errors import ObjectNotFound
from tenantry.runtime.objects.store import ObjectStore
from tenantry.runtime.sessions.errors import SessionNotFound
from tenantry.runtime.sessions.store import SessionStore
from tests.contract.runtime_blobs.conftest import Backend

HOSTILE_IDS = [
    "../bigcorp",
    "../../bigcorp/prod/helpdesk",
    "bigcorp/prod",
    "/abs",
    "/etc/passwd",
    "\u0430cme",  # a Cyrillic a
    "bigc\u043erp",  # a Cyrillic o
    "BIGCORP",
    "Helpdesk",
    "s\x00",
    "helpdesk\x00",
    ".",
    "..",
    "",
    "a b",
    "a--b",
    "a.cbor",
    "x" * 65,
]
HOSTILE_KEYS = [
    "../bigcorp/prod/doc",
    "../../tenants/bigcorp/prod/doc",
    "../../../tenantry-bigcorp--prod/doc",
    "/tenants/bigcorp/prod/doc",
    "doc/../../bigcorp/prod/doc",
    "doc\x00",
    "..\\bigcorp\\prod\\doc",
]


@pytest.fixture
async def sessions(backend: Backend, sealer: Sealer) -> tuple[SessionStore, SessionStore]:
    root = backend.session_root()
    mine = SessionStore("acme", "prod", root, sealer)
    theirs = SessionStore("bigcorp", "prod", root, sealer)
    await theirs.create("helpdesk", "s1", variables={"owner": "bigcorp"})
    await theirs.create(None, "s2")
    return mine, theirs


async def _their_state(theirs: SessionStore) -> list[object]:
    return list((await theirs.list()).items)


async def test_other_tenants_sessions_are_absent(
    sessions: tuple[SessionStore, SessionStore],
) -> None:
    mine, theirs = sessions
    before = await _their_state(theirs)
    for team in ("helpdesk", None):
        with pytest.raises(SessionNotFound):
            await mine.get(team, "s1" if team else "s2")
        assert await mine.delete(team, "s1" if team else "s2") is False
    assert (await mine.list()).items == ()
    assert (await mine.list(team="helpdesk")).items == ()
    await mine.create("helpdesk", "s1")  # its own record at its own path
    assert await _their_state(theirs) == before


@pytest.mark.parametrize("hostile", HOSTILE_IDS)
async def test_hostile_ids_in_every_position(
    sessions: tuple[SessionStore, SessionStore], hostile: str
) -> None:
    mine, theirs = sessions
    before = await _their_state(theirs)
    their = await theirs.get("helpdesk", "s1")
    calls = [
        lambda: mine.get(hostile, "s1"),
        lambda: mine.get("helpdesk", hostile),
        lambda: mine.create(hostile, "s1"),
        lambda: mine.create("helpdesk", hostile),
        lambda: mine.delete(hostile, "s1"),
        lambda: mine.delete("helpdesk", hostile),
        lambda: mine.list(team=hostile),
        lambda: mine.create("helpdesk", "s9", channel=hostile),
        lambda: mine.update(replace(their, team_id=hostile)),  # type: ignore[arg-type]
        lambda: mine.update(replace(their, session_id=hostile)),  # type: ignore[arg-type]
    ]
    for call in calls:
        with pytest.raises((InvalidInput, SessionNotFound)):
            await call()
    assert await _their_state(theirs) == before
    assert (await mine.list()).items == ()


async def test_another_tenants_record_cannot_be_updated(
    sessions: tuple[SessionStore, SessionStore],
) -> None:
    mine, theirs = sessions
    their = await theirs.get("helpdesk", "s1")
    with pytest.raises(SessionNotFound):
        await mine.update(replace(their, variables={"owner": "acme"}))
    with pytest.raises(SessionNotFound):  # relabelled as ours: our path holds nothing
        await mine.update(replace(their, tenant_id="acme", variables={"owner": "acme"}))
    assert (await theirs.get("helpdesk", "s1")).variables == {"owner": "bigcorp"}


async def test_a_record_copied_into_another_tree_does_not_open(
    backend: Backend, sessions: tuple[SessionStore, SessionStore]
) -> None:
    mine, _ = sessions
    root = backend.session_root()
    theirs = (await root.get(names.session_path("bigcorp", "prod", "helpdesk", "s1"))).data
    await root.put(names.session_path("acme", "prod", "helpdesk", "s1"), theirs)
    with pytest.raises(Undecryptable) as caught:
        await mine.get("helpdesk", "s1")
    assert caught.value.code == "crypto.undecryptable"
    # Within one tenant too: the path (team and session id) is bound.
    await mine.create("support", "a")
    ours = (await root.get(names.session_path("acme", "prod", "support", "a"))).data
    await root.put(names.session_path("acme", "prod", "support", "b"), ours)
    with pytest.raises(Undecryptable):
        await mine.get("support", "b")
    await root.put(names.session_path("acme", "staging", "support", "a"), ours)
    with pytest.raises(Undecryptable):
        await SessionStore("acme", "staging", root, mine._sealer).get("support", "a")


async def test_a_file_copied_on_disk_does_not_open(
    backend: Backend, sessions: tuple[SessionStore, SessionStore]
) -> None:
    if backend.root is None:
        pytest.skip("a file system copy")
    mine, _ = sessions
    tree = backend.root / "runtime"
    source = tree / names.session_path("bigcorp", "prod", "helpdesk", "s1")
    target = tree / names.session_path("acme", "prod", "helpdesk", "s1")
    target.parent.mkdir(parents=True)
    target.write_bytes(source.read_bytes())
    with pytest.raises(Undecryptable):
        await mine.get("helpdesk", "s1")


async def test_a_symlink_planted_in_the_session_tree(
    backend: Backend, sessions: tuple[SessionStore, SessionStore]
) -> None:
    if backend.root is None:
        pytest.skip("symlinks are a file system matter")
    mine, theirs = sessions
    tree = backend.root / "runtime" / "sessions"
    (tree / "acme").symlink_to(tree / "bigcorp", target_is_directory=True)
    before = await _their_state(theirs)
    for call in (
        lambda: mine.get("helpdesk", "s1"),
        lambda: mine.create("helpdesk", "new"),
        lambda: mine.delete("helpdesk", "s1"),
        mine.list,
        mine.sweep_expired,
    ):
        with pytest.raises(UnsafePath) as caught:
            await call()
        assert caught.value.code == "blob.unsafe_path"
    assert await _their_state(theirs) == before


@pytest.fixture
async def objects(backend: Backend, sealer: Sealer) -> tuple[ObjectStore, ObjectStore]:
    mine = ObjectStore("acme", "prod", backend.objects("acme", "prod"), sealer)
    theirs = ObjectStore("bigcorp", "prod", backend.objects("bigcorp", "prod"), sealer)
    await theirs.put("doc", b"bigcorp's")
    return mine, theirs


async def test_other_tenants_objects_are_absent(objects: tuple[ObjectStore, ObjectStore]) -> None:
    mine, theirs = objects
    with pytest.raises(ObjectNotFound):
        await mine.get("doc")
    assert await mine.delete("doc") is False
    assert (await mine.list()).items == ()
    await mine.put("doc", b"acme's")
    assert (await theirs.get("doc")).data == b"bigcorp's"
    assert (await mine.get("doc")).data == b"acme's"


@pytest.mark.parametrize("key", HOSTILE_KEYS)
async def test_hostile_keys(objects: tuple[ObjectStore, ObjectStore], key: str) -> None:
    mine, theirs = objects
    for call in (
        lambda: mine.get(key),
        lambda: mine.put(key, b"overwrite"),
        lambda: mine.delete(key),
        lambda: mine.list(key),
        lambda: mine.list(after=key),
    ):
        with pytest.raises(InvalidInput):
            await call()
    assert (await theirs.get("doc")).data == b"bigcorp's"
    assert (await mine.list()).items == ()


async def test_an_object_copied_across_tenants_does_not_open(
    backend: Backend, objects: tuple[ObjectStore, ObjectStore]
) -> None:
    mine, _ = objects
    stolen = (await backend.objects("bigcorp", "prod").get("doc")).data
    await backend.objects("acme", "prod").put("doc", stolen)
    with pytest.raises(Undecryptable):
        await mine.get("doc")


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(team=st.one_of(st.none(), st.text(max_size=12)), session=st.text(max_size=12))
async def test_any_ids_stay_in_their_tenant(
    backend: Backend, sealer: Sealer, team: str | None, session: str
) -> None:
    root = backend.session_root()
    mine = SessionStore("acme", "prod", root, sealer)
    try:
        await mine.create(team, session)
    except InvalidInput:
        return
    path = names.session_path("acme", "prod", team, session)
    assert path.startswith("sessions/acme/prod/")
    assert await mine.delete(team, session) is True
    assert (await SessionStore("bigcorp", "prod", root, sealer).list()).items == ()


async def test_interleaved_operations_of_many_tenants(backend: Backend, tmp_path: Path) -> None:
    """50 tenants, 1,000 interleaved operations: each sees only its own sessions and objects."""
    ring = Keyring(tmp_path / "many")
    tenants = [f"tenant-{n}" for n in range(50)]
    for tenant in tenants:
        ring.create(tenant)
    sealer = Sealer(ring)
    root = backend.session_root()
    sessions = {t: SessionStore(t, "prod", root, sealer) for t in tenants}
    objects = {t: ObjectStore(t, "prod", backend.objects(t, "prod"), sealer) for t in tenants}

    async def work(tenant: str) -> None:
        store, blobs = sessions[tenant], objects[tenant]
        made = await store.create("team", "s1", variables={"owner": tenant})
        await blobs.put("doc", tenant.encode())
        for step in range(7):
            made = await store.update(replace(made, variables={"owner": tenant, "step": step}))
            await asyncio.sleep(0)
            assert (await store.get("team", "s1")).variables["owner"] == tenant
            assert (await blobs.get("doc")).data == tenant.encode()
        listed = await store.list()
        assert [(s.tenant_id, s.session_id) for s in listed.items] == [(tenant, "s1")]
        assert (await blobs.list()).items == ("doc",)

    # 50 x (2 + 7 x 3 + 2) = 1,250 operations, interleaved by the event loop
    await asyncio.gather(*(work(tenant) for tenant in tenants))
