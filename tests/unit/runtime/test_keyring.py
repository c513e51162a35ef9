"""The tenants' keyring: rotations a re-run job makes once, retirement, and crypto-shredding
that leaves no copy of a tenant's key in the keyring's folder."""

from __future__ import annotations

import json
import stat
import threading
from pathlib import Path

import pytest

from tenantry.backends.keys.keyring import KeyInUse, KeyNotFound, Keyring
from tenantry.runtime.crypto import Binding, KeyVersions, Sealer, Undecryptable

ACME = Binding("acme", "prod", "object", "reports/q1.txt")
BIGCORP = Binding("bigcorp", "prod", "object", "reports/q1.txt")


@pytest.fixture
def keyring(tmp_path: Path) -> Keyring:
    ring = Keyring(tmp_path)
    ring.create("acme")
    ring.create("bigcorp")
    return ring


def _key_material(ring: Keyring, tenant: str) -> list[str]:
    return [v["key"] for v in json.loads(ring.path(tenant).read_text())["versions"]]


def _crashed_copy(ring: Keyring, tenant: str) -> Path:
    """What a writer killed between writing its temporary file and renaming it leaves."""
    leftover = ring.path(tenant).with_name(f".{tenant}.json.0123456789abcdef")
    leftover.write_text(ring.path(tenant).read_text())
    return leftover


def test_rotating_away_from_a_key_makes_one_version_however_often_it_runs(
    keyring: Keyring,
) -> None:
    old = keyring.kids("acme")[-1]
    new = keyring.rotate("acme", replacing=old)
    assert keyring.rotate("acme", replacing=old) == new
    assert keyring.rotate("acme", replacing="not-a-kid") == new
    keyring.retire("acme", old)
    assert keyring.rotate("acme", replacing=old) == new  # a re-run after the retire step
    assert keyring.kids("acme") == [new]
    assert keyring.rotate("acme") != new  # without ``replacing``: always a new version


def test_concurrent_rotations_away_from_one_key_make_one_version(tmp_path: Path) -> None:
    Keyring(tmp_path).create("acme")
    old = Keyring(tmp_path).kids("acme")[-1]
    made: list[str] = []

    def rotate() -> None:
        made.append(Keyring(tmp_path).rotate("acme", replacing=old))

    threads = [threading.Thread(target=rotate) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(made)) == 1 and Keyring(tmp_path).kids("acme") == [old, made[0]]


def test_retiring_is_idempotent_and_refuses_the_active_key(keyring: Keyring) -> None:
    old = keyring.kids("acme")[-1]
    new = keyring.rotate("acme")
    leftover = _crashed_copy(keyring, "acme")
    with pytest.raises(KeyInUse):
        keyring.retire("acme", new)
    assert keyring.retire("acme", old) is True
    assert keyring.retire("acme", old) is False
    assert keyring.kids("acme") == [new]
    assert not leftover.exists()  # it held the retired version too


def test_destroy_shreds_every_copy_of_the_tenants_key(keyring: Keyring, tmp_path: Path) -> None:
    sealer = Sealer(keyring)
    keyring.rotate("acme")
    sealed, theirs = sealer.seal(ACME, b"acme data"), sealer.seal(BIGCORP, b"bigcorp data")
    material = _key_material(keyring, "acme")
    _crashed_copy(keyring, "acme")
    assert keyring.destroy("acme") is True
    assert keyring.destroy("acme") is False
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert not any(key in path.read_text() for key in material), path
    assert sorted(p.name for p in (tmp_path / "keys").iterdir()) == ["bigcorp.json", "bigcorp.lock"]
    fresh = Sealer(Keyring(tmp_path))
    with pytest.raises(Undecryptable):
        fresh.open(ACME, sealed)
    with pytest.raises(KeyNotFound):
        Keyring(tmp_path).active("acme")
    assert fresh.open(BIGCORP, theirs) == b"bigcorp data"
    assert keyring.tenants() == ["bigcorp"]


def test_a_key_made_again_after_a_shred_opens_nothing_from_before(keyring: Keyring) -> None:
    sealed = Sealer(keyring).seal(ACME, b"acme data")
    keyring.destroy("acme")
    assert keyring.create("acme") is True
    with pytest.raises(Undecryptable):
        Sealer(keyring).open(ACME, sealed)


def test_the_keyring_is_the_key_versions_port(tmp_path: Path) -> None:
    keys: KeyVersions = Keyring(tmp_path)  # checked by mypy
    assert keys.destroy("acme") is False


def test_key_files_and_locks_are_owner_only(keyring: Keyring, tmp_path: Path) -> None:
    keyring.rotate("acme")
    folder = tmp_path / "keys"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    for path in folder.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
