"""The signing keyring file: created once, 0600, rotated atomically, seen by other processes."""

from __future__ import annotations

import json
import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tenantry.backends.keys.signing import SigningKeyring
from tenantry.tenancy.access.errors import SigningKeyInUse, SigningKeyNotFound


def test_nothing_exists_until_first_use(tmp_path: Path) -> None:
    keys = SigningKeyring(tmp_path)
    assert keys.kids() == [] and keys.public_key("a" * 32) is None
    assert not keys.path.exists()
    active = keys.active()
    assert keys.kids() == [active.kid]
    assert stat.S_IMODE(keys.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(keys.path.parent.stat().st_mode) == 0o700


def test_the_first_key_is_created_once(tmp_path: Path) -> None:
    rings = [SigningKeyring(tmp_path) for _ in range(8)]
    with ThreadPoolExecutor(8) as pool:
        created = list(pool.map(lambda ring: ring.ensure(), rings))
    assert created.count(True) == 1
    assert len({ring.active().kid for ring in rings}) == 1
    assert not [p for p in keys_folder(tmp_path).iterdir() if p.name.startswith(".")]


def keys_folder(root: Path) -> Path:
    return root / "signing"


def test_rotation_keeps_only_the_public_part_of_old_keys(tmp_path: Path) -> None:
    keys = SigningKeyring(tmp_path)
    first = keys.active().kid
    second = keys.rotate()
    document = json.loads(keys.path.read_text())
    assert [v["kid"] for v in document["versions"]] == [first, second]
    assert "private" not in document["versions"][0]
    assert {"kid", "created_at", "public", "private"} == set(document["versions"][1])
    assert stat.S_IMODE(keys.path.stat().st_mode) == 0o600
    assert keys.public_key(first) is not None


def test_another_process_sees_rotation_and_retirement(tmp_path: Path) -> None:
    api, operator = SigningKeyring(tmp_path), SigningKeyring(tmp_path)
    first = api.active().kid
    assert api.public_key(first) is not None  # now cached in the API process
    second = operator.rotate()
    assert api.active().kid == second and api.public_key(second) is not None
    operator.retire(first)
    assert api.public_key(first) is None
    assert api.kids() == [second]


def test_the_active_key_cannot_be_retired_nor_an_unknown_one(tmp_path: Path) -> None:
    keys = SigningKeyring(tmp_path)
    active = keys.active().kid
    with pytest.raises(SigningKeyInUse):
        keys.retire(active)
    with pytest.raises(SigningKeyNotFound):
        keys.retire("0" * 32)
    assert keys.kids() == [active]
