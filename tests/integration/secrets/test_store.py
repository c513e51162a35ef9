"""Round trips, immutable versions, listing metadata, delete and prune, on both control DBs."""

from __future__ import annotations

import asyncio

import pytest

from tenantry.core.errors import ErrorKind
from tenantry.runtime.crypto import Undecryptable
from tenantry.runtime.secrets import MAX_VALUE_BYTES, SecretNotFound, SecretValue
from tests.integration.secrets.conftest import START, Kit


@pytest.mark.parametrize(
    "value",
    [b"s3cr3t", "pässwörd ✓", b"", b"\x00\xff" * 100, b"x" * MAX_VALUE_BYTES],
    ids=["bytes", "text", "empty", "binary", "at-the-cap"],
)
async def test_a_value_comes_back_as_it_went_in(kit: Kit, value: bytes | str) -> None:
    store = kit.store("acme")
    info = await store.put("api_key", value)
    secret = await store.get("api_key")
    expected = value.encode() if isinstance(value, str) else value
    assert secret.value.reveal() == expected
    assert (secret.path, secret.name, secret.team, secret.version) == (
        "acme/api_key",
        "api_key",
        None,
        1,
    )
    assert (info.path, info.version, info.size, info.kid) == (
        "acme/api_key",
        1,
        len(expected),
        secret.kid,
    )
    assert info.kid == kit.keyring.kids("acme")[-1]


async def test_text_values_can_be_read_as_text(kit: Kit) -> None:
    store = kit.store("acme")
    await store.put("greeting", "grüß dich")
    assert (await store.get("greeting")).value.reveal_text() == "grüß dich"
    await store.put("blob", b"\xff\xfe")
    with pytest.raises(Exception) as caught:
        (await store.get("blob")).value.reveal_text()
    assert getattr(caught.value, "code", None) == "secret.not_text"
    assert "\\xff" not in str(caught.value) and caught.value.__suppress_context__


async def test_each_put_makes_a_new_immutable_version(kit: Kit) -> None:
    store = kit.store("acme")
    numbers = [(await store.put("token", f"value-{n}")).version for n in range(1, 4)]
    assert numbers == [1, 2, 3]
    assert (await store.get("token")).value.reveal() == b"value-3"
    for n in (1, 2, 3):
        secret = await store.get("token", version=n)
        assert (secret.version, secret.value.reveal()) == (n, f"value-{n}".encode())
    history = await store.versions("token")
    assert [v.version for v in history] == [1, 2, 3]
    assert [v.created_at for v in history] == sorted(v.created_at for v in history)
    assert all(v.created_at > START for v in history)


async def test_a_missing_version_or_secret_is_not_found(kit: Kit) -> None:
    store = kit.store("acme")
    await store.put("token", "one")
    for call in (
        store.get("token", version=2),
        store.get("nothing"),
        store.versions("nothing"),
        store.delete("nothing"),
        store.prune("nothing"),
    ):
        with pytest.raises(SecretNotFound) as caught:
            await call
        assert (caught.value.kind, caught.value.code) == (ErrorKind.NOT_FOUND, "secret.not_found")


async def test_list_gives_names_and_metadata_per_scope(kit: Kit) -> None:
    store = kit.store("acme")
    await store.put("b_key", "1")
    await store.put("b_key", "2")
    await store.put("a_key", "x")
    await store.put("team_key", "t", team="support")
    listed = await store.list()
    assert [(s.path, s.latest, s.versions) for s in listed] == [
        ("acme/a_key", 1, (1,)),
        ("acme/b_key", 2, (1, 2)),
    ]
    b_key = listed[1]
    assert b_key.created_at < b_key.updated_at
    assert b_key.kid == kit.keyring.kids("acme")[-1] and b_key.kids == (b_key.kid,)
    team = await store.list(team="support")
    assert [(s.path, s.name, s.team) for s in team] == [
        ("acme/teams/support/team_key", "team_key", "support")
    ]
    assert await store.list(team="sales") == []
    assert await store.list(team="default") == listed  # "default" is the tenant scope


async def test_delete_removes_every_version_of_one_secret_only(kit: Kit) -> None:
    store = kit.store("acme")
    for value in ("1", "2", "3"):
        await store.put("token", value)
    await store.put("token", "team", team="support")
    await store.put("other", "o")
    assert await store.delete("token") == 3
    with pytest.raises(SecretNotFound):
        await store.get("token")
    assert (await store.get("token", team="support")).value.reveal() == b"team"
    assert (await store.get("other")).value.reveal() == b"o"
    assert (await store.put("token", "again")).version == 1  # a new secret


async def test_prune_keeps_the_newest_versions(kit: Kit) -> None:
    store = kit.store("acme")
    for n in range(5):
        await store.put("token", str(n))
    assert await store.prune("token", keep=2) == 3
    assert [v.version for v in await store.versions("token")] == [4, 5]
    assert await store.prune("token", keep=2) == 0
    assert (await store.put("token", "next")).version == 6  # numbers are never reused
    with pytest.raises(SecretNotFound):
        await store.get("token", version=1)


async def test_concurrent_puts_get_distinct_versions(kit: Kit) -> None:
    store = kit.store("acme")
    infos = await asyncio.gather(*(store.put("token", f"v{n}") for n in range(20)))
    assert sorted(i.version for i in infos) == list(range(1, 21))
    for info in infos:
        secret = await store.get("token", version=info.version)
        assert secret.value == SecretValue(f"v{infos.index(info)}".encode())


async def test_values_are_stored_sealed(kit: Kit) -> None:
    store = kit.store("acme")
    await store.put("token", "plain-text-marker-123")
    (row,) = await kit.rows()
    assert b"plain-text-marker-123" not in row["sealed"]
    assert row["sealed"].startswith(b"TNE1")
    assert (row["tenant_id"], row["team_id"], row["name"], row["size"]) == (
        "acme",
        None,
        "token",
        21,
    )


async def test_export_and_restore_bring_back_every_version_as_it_was(kit: Kit) -> None:
    store = kit.store("acme")
    await store.put("token", "1")
    await store.put("token", "2")
    await store.put("token", "team", team="support")
    await kit.store("globex").put("token", "theirs")
    exported = await store.export()
    assert [(s.info.path, s.info.version) for s in exported] == [
        ("acme/teams/support/token", 1),
        ("acme/token", 1),
        ("acme/token", 2),
    ]
    assert await store.restore(exported) == 0  # all there already
    await store.delete("token")
    await store.delete("token", team="support")
    assert await store.restore(exported) == 3
    assert await store.export() == exported
    assert (await store.get("token", version=1)).value.reveal() == b"1"
    assert (await store.get("token", team="support")).value.reveal() == b"team"
    with pytest.raises(Undecryptable):  # another tenant's versions do not open as its own
        await kit.store("globex").restore(exported)
