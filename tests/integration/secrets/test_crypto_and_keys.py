"""Sealed values bound to their tenant, secret and version; key rotation and retirement."""

from __future__ import annotations

from typing import Any

import pytest

from tenantry.core.errors import Conflict, ErrorKind
from tenantry.runtime.crypto import Undecryptable
from tenantry.runtime.secrets import SecretKeyInUse, SecretKeyNotFound
from tests.integration.secrets.conftest import Kit


async def test_a_value_copied_to_another_tenant_does_not_open(kit: Kit) -> None:
    await kit.store("acme").put("token", "acme-secret")
    await kit.store("globex").put("token", "globex-secret")
    await kit.overwrite("globex/token", 1, await kit.sealed("acme/token", 1))
    with pytest.raises(Undecryptable) as caught:
        await kit.store("globex").get("token")
    assert (caught.value.kind, caught.value.code) == (ErrorKind.INVALID, "crypto.undecryptable")
    assert "acme-secret" not in caught.value.message


@pytest.mark.parametrize(
    ("source", "target"),
    [
        (("acme/other", 1), ("acme/token", 1)),  # another secret of the same tenant
        (("acme/token", 2), ("acme/token", 1)),  # another version of the same secret
        (("acme/teams/support/token", 1), ("acme/token", 1)),  # a team's copy
        (("global/token", 1), ("acme/token", 1)),  # the platform's
    ],
    ids=["other-secret", "other-version", "team-scope", "global"],
)
async def test_a_value_copied_to_another_place_does_not_open(
    kit: Kit, source: tuple[str, int], target: tuple[str, int]
) -> None:
    store = kit.store("acme")
    await store.put("token", "v1")
    await store.put("token", "v2")
    await store.put("other", "other")
    await store.put("token", "team", team="support")
    await kit.platform().put("token", "global")
    await kit.overwrite(*target, await kit.sealed(*source))
    with pytest.raises(Undecryptable):
        await store.get("token", version=1)


@pytest.mark.parametrize("offset", [0, 4, 5, 20, 50, 90, 100, -17, -1])
async def test_a_tampered_value_does_not_open(kit: Kit, offset: int) -> None:
    store = kit.store("acme")
    await store.put("token", "a value long enough to tamper with")
    sealed = bytearray(await kit.sealed("acme/token", 1))
    sealed[offset] ^= 0x01
    await kit.overwrite("acme/token", 1, bytes(sealed))
    with pytest.raises(Undecryptable):
        await store.get("token")


async def test_a_truncated_value_does_not_open(kit: Kit) -> None:
    store = kit.store("acme")
    await store.put("token", "value")
    sealed = await kit.sealed("acme/token", 1)
    for cut in (0, 3, 10, len(sealed) - 1):
        await kit.overwrite("acme/token", 1, sealed[:cut])
        with pytest.raises(Undecryptable):
            await store.get("token")


async def test_rotation_rewraps_every_version_and_keeps_them_readable(kit: Kit) -> None:
    store = kit.store("acme")
    await store.put("token", "t1")
    await store.put("token", "t2")
    await store.put("token", "team", team="support")
    await kit.store("globex").put("token", "globex")
    old_kid = kit.keyring.kids("acme")[-1]
    payloads = {(r["path"], r["version"]): _payload(r) for r in await kit.rows()}
    report = await store.rotate_key()
    assert report.kid == kit.keyring.kids("acme")[-1] != old_kid
    assert (report.rewrapped, report.failed) == (3, ())
    assert await store.key_usage() == {report.kid: 3}
    for row in await kit.rows():
        assert _payload(row) == payloads[(row["path"], row["version"])]  # payload untouched
        if row["tenant_id"] == "acme":
            assert (row["kid"], row["updated_at"] > row["created_at"]) == (report.kid, True)
    assert [(await store.get("token", version=n)).value.reveal() for n in (1, 2)] == [b"t1", b"t2"]
    assert (await store.get("token", team="support")).value.reveal() == b"team"
    assert (await kit.store("globex").get("token")).value.reveal() == b"globex"
    assert old_kid in kit.keyring.kids("acme")  # still held until retired


def _payload(row: dict[str, Any]) -> bytes:
    """The sealed record's nonce, ciphertext and tag (what follows the wrapped data key)."""
    return bytes(row["sealed"][-(row["size"] + 12 + 16) :])


async def test_retiring_a_key_waits_until_no_secret_needs_it(kit: Kit) -> None:
    store = kit.store("acme")
    await store.put("token", "before")
    old_kid = kit.keyring.kids("acme")[-1]
    kit.keyring.rotate("acme")  # a rotation that re-wrapped nothing (interrupted, or elsewhere)
    await store.put("token", "after")
    assert await store.key_usage() == {old_kid: 1, kit.keyring.kids("acme")[-1]: 1}
    with pytest.raises(SecretKeyInUse) as caught:
        await store.retire_key(old_kid)
    assert (caught.value.kind, caught.value.code) == (ErrorKind.CONFLICT, "secret.key_in_use")
    assert old_kid in kit.keyring.kids("acme")
    report = await store.rewrap()
    assert (report.rewrapped, report.failed) == (1, ())
    await store.retire_key(old_kid)
    assert old_kid not in kit.keyring.kids("acme")
    assert (await store.get("token", version=1)).value.reveal() == b"before"
    assert (await store.rewrap()).rewrapped == 0


async def test_the_active_key_and_unknown_keys_cannot_be_retired(kit: Kit) -> None:
    store = kit.store("acme")
    with pytest.raises(Conflict):
        await store.retire_key(kit.keyring.kids("acme")[-1])
    for kid in ("no-such-key", kit.keyring.kids("globex")[-1]):
        with pytest.raises(SecretKeyNotFound) as caught:
            await store.retire_key(kid)
        assert caught.value.code == "secret.key_not_found"
    assert len(kit.keyring.kids("acme")) == 1


async def test_a_tampered_version_is_reported_and_keeps_its_key(kit: Kit) -> None:
    store = kit.store("acme")
    await store.put("token", "good")
    await store.put("broken", "bad")
    old_kid = kit.keyring.kids("acme")[-1]
    sealed = bytearray(await kit.sealed("acme/broken", 1))
    sealed[50] ^= 0xFF  # inside the wrapped data key: only that stops a re-wrap
    await kit.overwrite("acme/broken", 1, bytes(sealed))
    report = await store.rotate_key()
    assert (report.rewrapped, report.failed) == (1, ("acme/broken#1",))
    assert (await store.get("token")).value.reveal() == b"good"
    with pytest.raises(SecretKeyInUse):
        await store.retire_key(old_kid)
    await store.delete("broken")
    await store.retire_key(old_kid)


async def test_platform_key_rotation_is_its_own(kit: Kit) -> None:
    platform = kit.platform()
    await platform.put("token", "global")
    await kit.store("acme").put("token", "acme")
    tenant_kids = kit.keyring.kids("acme")
    old = kit.platform_keyring.kids("platform")[-1]
    report = await platform.rotate_key()
    assert (report.rewrapped, report.failed) == (1, ())
    await platform.retire_key(old)
    assert kit.keyring.kids("acme") == tenant_kids
    assert (await platform.get("token")).value.reveal() == b"global"
    assert (await kit.store("acme").get("token")).value.reveal() == b"acme"
