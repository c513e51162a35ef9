"""Values never leave by accident (logs, listings, reprs, errors); bad input changes nothing."""

from __future__ import annotations

import logging
import pickle
from typing import Any

import pytest
import structlog
from hypothesis import given, settings
from hypothesis import strategies as st

from tenantry.core import ids
from tenantry.core.errors import ErrorKind, InvalidInput, NotFound
from tenantry.runtime.secrets import (
    MAX_VALUE_BYTES,
    SecretOwnerNotFound,
    SecretStore,
    SecretTooLarge,
    SecretValue,
    SecretValueInvalid,
    SecretVersionInvalid,
)
from tenantry.runtime.secrets.schemas import VersionInfo, summarise
from tests.integration.secrets.conftest import START, Kit

MARKER = "hunter2-do-not-log-7f3a"


async def _everything(kit: Kit) -> list[Any]:
    """Every way a value might escape: results, listings, errors."""
    store = kit.store("acme")
    seen: list[Any] = [await store.put("token", MARKER), await store.put("token", MARKER * 2)]
    await store.put("token", MARKER, team="support")
    secret = await store.get("token", team="support")
    seen += [secret, secret.value, await store.list(), await store.list(team="support")]
    seen += [await store.versions("token"), await store.rotate_key(), await store.key_usage()]
    for bad in (MARKER * 5000, 3.14):
        with pytest.raises(InvalidInput) as caught:
            await store.put("token", bad)  # type: ignore[arg-type]
        seen += [caught.value, caught.value.message, caught.value.details]
    sealed = bytearray(await kit.sealed("acme/token", 1))
    sealed[60] ^= 1
    await kit.overwrite("acme/token", 1, bytes(sealed))
    with pytest.raises(InvalidInput) as tampered:
        await store.get("token", version=1)
    seen += [tampered.value, await store.rewrap()]
    platform = kit.platform()
    await platform.put("smtp", MARKER)
    seen += [await platform.get("smtp"), await platform.list(), await platform.versions("smtp")]
    return seen


async def test_values_never_reach_logs_listings_reprs_or_errors(
    kit: Kit, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    with structlog.testing.capture_logs() as events:
        seen = await _everything(kit)
    assert any(event["event"] == "secret.put" for event in events)
    shown = [repr(events), caplog.text, *capsys.readouterr()]
    shown += [repr(item) for item in seen] + [str(item) for item in seen]
    shown += [f"{item}" for item in seen]
    for text in shown:
        assert MARKER not in text
        assert MARKER.encode().hex() not in text


def test_a_secret_value_masks_itself() -> None:
    value = SecretValue(MARKER.encode())
    assert MARKER not in repr(value) + str(value) + f"{value}" + f"{value!r}" + f"{value:>40}"
    assert value == SecretValue(MARKER.encode()) and value != SecretValue(b"other")
    assert value.reveal() == MARKER.encode() and value.reveal_text() == MARKER
    with pytest.raises(TypeError):
        hash(value)
    with pytest.raises(TypeError):
        pickle.dumps(value)


@pytest.mark.parametrize(
    ("value", "error", "code"),
    [
        (b"x" * (MAX_VALUE_BYTES + 1), SecretTooLarge, "secret.too_large"),
        ("é" * (MAX_VALUE_BYTES // 2 + 1), SecretTooLarge, "secret.too_large"),
        (bytearray(b"x"), SecretValueInvalid, "secret.value_invalid"),
        (None, SecretValueInvalid, "secret.value_invalid"),
        (42, SecretValueInvalid, "secret.value_invalid"),
        ("\ud800", SecretValueInvalid, "secret.value_invalid"),
    ],
    ids=["bytes-over-cap", "text-over-cap", "bytearray", "none", "int", "lone-surrogate"],
)
async def test_bad_values_are_refused_and_nothing_is_written(
    kit: Kit, value: object, error: type[InvalidInput], code: str
) -> None:
    store = kit.store("acme")
    await store.put("token", "existing")
    before = await kit.rows()
    with pytest.raises(error) as caught:
        await store.put("token", value)  # type: ignore[arg-type]
    kind = ErrorKind.TOO_LARGE if code.endswith("too_large") else ErrorKind.INVALID
    assert (caught.value.kind, caught.value.code) == (kind, code)
    assert "\\ud800" not in caught.value.message
    assert await kit.rows() == before


async def test_a_store_with_its_own_cap_enforces_it(kit: Kit) -> None:
    store = kit.store("acme", max_size=8)
    assert (await store.put("token", b"x" * 8)).version == 1
    with pytest.raises(SecretTooLarge) as caught:
        await store.put("token", b"x" * 9)
    assert caught.value.details == {"limit": 8, "size": 9}
    assert await kit.count() == 1


@pytest.mark.parametrize("version", [0, -1, True, "1", 1.0])
async def test_bad_versions_are_refused(kit: Kit, version: object) -> None:
    store = kit.store("acme")
    await store.put("token", "v")
    with pytest.raises(SecretVersionInvalid) as caught:
        await store.get("token", version=version)  # type: ignore[arg-type]
    assert caught.value.code == "secret.version_invalid"


@pytest.mark.parametrize("keep", [0, -3, True, "2", None])
async def test_bad_prune_counts_are_refused_and_nothing_is_removed(kit: Kit, keep: object) -> None:
    store = kit.store("acme")
    for n in range(3):
        await store.put("token", str(n))
    with pytest.raises(SecretVersionInvalid):
        await store.prune("token", keep=keep)  # type: ignore[arg-type]
    assert await kit.count() == 3


async def test_bad_key_ids_are_not_found(kit: Kit) -> None:
    for kid in ("", "../acme", None, 7):
        with pytest.raises(NotFound):
            await kit.store("acme").retire_key(kid)  # type: ignore[arg-type]


async def test_an_unregistered_tenant_stores_nothing(kit: Kit) -> None:
    kit.keyring.create("initech")  # a key, but no registry row
    with pytest.raises(SecretOwnerNotFound) as caught:
        await kit.store("initech").put("token", "x")
    assert (caught.value.kind, caught.value.code) == (ErrorKind.NOT_FOUND, "tenant.not_found")
    with pytest.raises(NotFound) as keyless:  # registered nowhere, not even the keyring
        await kit.store("hooli").put("token", "x")
    assert keyless.value.code == "key.not_found"
    assert await kit.count() == 0


@settings(max_examples=300, deadline=None)
@given(name=st.text(max_size=70), team=st.one_of(st.none(), st.text(max_size=40)))
def test_any_name_maps_into_the_tenant_or_is_refused(name: str, team: str | None) -> None:
    store = SecretStore("acme", records=None, keys=None)  # type: ignore[arg-type]
    try:
        address = store._address(name, team)
    except InvalidInput:
        return
    assert address.tenant == "acme"
    assert address.path.startswith("acme/") and not address.path.startswith("global/")
    assert address.path in {f"acme/{name}", f"acme/teams/{team}/{name}"}


def test_summaries_fold_versions_by_path() -> None:
    def version(path: str, number: int, kid: str) -> VersionInfo:
        stamp = START.replace(second=number)
        name = ids.SecretName(path.rsplit("/", 1)[-1])
        return VersionInfo(path, name, None, number, kid, 1, stamp, stamp)

    found = summarise(
        [version("acme/b", 2, "k2"), version("acme/a", 1, "k1"), version("acme/b", 1, "k1")]
    )
    assert [(s.path, s.latest, s.versions, s.kid, s.kids) for s in found] == [
        ("acme/a", 1, (1,), "k1", ("k1",)),
        ("acme/b", 2, (1, 2), "k2", ("k1", "k2")),
    ]
    assert found[1].created_at < found[1].updated_at
