"""Envelope encryption: round trips, tampering, wrong tenant or record, rotation and retirement."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tenantry.backends.keys.keyring import KeyInUse, Keyring
from tenantry.runtime.crypto import Binding, Sealer, Undecryptable, key_id

SESSION = Binding("acme", "prod", "session", "sessions/acme/prod/support/s1.cbor")


@pytest.fixture
def keyring(tmp_path: Path) -> Keyring:
    ring = Keyring(tmp_path)
    ring.create("acme")
    ring.create("bigcorp")
    return ring


def test_round_trip_and_fresh_nonces(keyring: Keyring) -> None:
    sealer = Sealer(keyring)
    one, two = sealer.seal(SESSION, b"hello"), sealer.seal(SESSION, b"hello")
    assert one != two and b"hello" not in one
    assert sealer.open(SESSION, one) == sealer.open(SESSION, two) == b"hello"


@pytest.mark.parametrize(
    "other",
    [
        Binding("bigcorp", "prod", "session", SESSION.record),
        Binding("acme", "staging", "session", SESSION.record),
        Binding("acme", "prod", "object", SESSION.record),
        Binding("acme", "prod", "session", "sessions/acme/prod/support/s2.cbor"),
    ],
)
def test_bytes_moved_to_another_binding_do_not_open(keyring: Keyring, other: Binding) -> None:
    sealed = Sealer(keyring).seal(SESSION, b"secret")
    with pytest.raises(Undecryptable, match="does not decrypt"):
        Sealer(keyring).open(other, sealed)


@settings(max_examples=200, deadline=None)
@given(position=st.integers(min_value=0), bit=st.integers(min_value=0, max_value=7))
def test_any_flipped_bit_is_refused(
    tmp_path_factory: pytest.TempPathFactory, position: int, bit: int
) -> None:
    ring = Keyring(tmp_path_factory.mktemp("k"))
    ring.create("acme")
    sealed = bytearray(Sealer(ring).seal(SESSION, b"payload"))
    sealed[position % len(sealed)] ^= 1 << bit
    with pytest.raises(Undecryptable):
        Sealer(ring).open(SESSION, bytes(sealed))


@pytest.mark.parametrize("cut", [0, 3, 5, 20, 60, 90])
def test_truncated_bytes_are_refused(keyring: Keyring, cut: int) -> None:
    sealed = Sealer(keyring).seal(SESSION, b"payload")
    with pytest.raises(Undecryptable):
        Sealer(keyring).open(SESSION, sealed[:cut])


def test_rotation_keeps_old_records_readable_and_rewrap_moves_them(keyring: Keyring) -> None:
    sealer = Sealer(keyring)
    old = sealer.seal(SESSION, b"v1")
    first = key_id(old)
    second = keyring.rotate("acme")
    assert keyring.kids("acme") == [first, second]
    assert sealer.open(SESSION, old) == b"v1"
    moved = sealer.rewrap(SESSION, old)
    assert key_id(moved) == second and sealer.open(SESSION, moved) == b"v1"
    with pytest.raises(KeyInUse):
        keyring.retire("acme", second)
    keyring.retire("acme", first)
    assert sealer.open(SESSION, moved) == b"v1"
    with pytest.raises(Undecryptable):
        sealer.open(SESSION, old)


def test_a_rotation_by_another_process_is_seen(keyring: Keyring, tmp_path: Path) -> None:
    reader, writer = Sealer(keyring), Keyring(tmp_path)
    reader.seal(SESSION, b"warm the cache")
    new = writer.rotate("acme")
    assert key_id(reader.seal(SESSION, b"x")) == new


def test_a_destroyed_key_shreds_the_tenant(keyring: Keyring) -> None:
    sealed = Sealer(keyring).seal(SESSION, b"gone")
    keyring.destroy("acme")
    with pytest.raises(Undecryptable):
        Sealer(keyring).open(SESSION, sealed)


def test_rewrap_stale_leaves_what_the_active_key_wraps(keyring: Keyring) -> None:
    sealer = Sealer(keyring)
    old = sealer.seal(SESSION, b"v1")
    assert sealer.rewrap_stale(SESSION, old) is None
    new = keyring.rotate("acme")
    moved = sealer.rewrap_stale(SESSION, old)
    assert moved is not None and key_id(moved) == new == sealer.active_kid("acme")
    body = 12 + len(b"v1") + 16  # nonce, ciphertext and tag: the payload is not sealed again
    assert len(moved) == len(old) and moved[-body:] == old[-body:]
    assert sealer.rewrap_stale(SESSION, moved) is None
    with pytest.raises(Undecryptable):  # another record's binding does not unwrap
        sealer.rewrap_stale(Binding("acme", "prod", "session", "elsewhere"), old)
