"""Session CBOR: round trips, and every kind of hostile byte string is ``session.corrupt``."""

from __future__ import annotations

import contextlib
import math
import struct
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from typing import Any
from uuid import UUID

import cbor2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tenantry.core import ids
from tenantry.runtime.sessions import codec
from tenantry.runtime.sessions.errors import SessionCorrupt, SessionInvalid
from tenantry.runtime.sessions.schemas import FlowCursor, Session, TranscriptEntry

NOW = datetime(2025, 3, 1, 12, 30, 15, 123456, tzinfo=UTC)


def _session(**changes: Any) -> Session:
    fields: dict[str, Any] = {
        "tenant_id": ids.TenantId("acme"),
        "env_id": ids.EnvId("prod"),
        "team_id": ids.TeamId("support"),
        "session_id": ids.SessionId("s_001"),
        "channel_id": ids.ChannelId("slack"),
        "user_id": "user@example.com",
        "cursor": FlowCursor("acme_support_flow", "greet", "1.0"),
        "variables": {"name": "Ada", "count": 3, "ratio": 0.5, "tags": ["a", "b"], "x": None},
        "transcript": (TranscriptEntry("user", "hello", NOW, {"lang": "en"}),),
        "created_at": NOW,
        "updated_at": NOW + timedelta(seconds=1),
        "expires_at": NOW + timedelta(days=1),
        "revision": 7,
    }
    return Session(**(fields | changes))


def _record(**changes: Any) -> dict[str, Any]:
    record = cbor2.loads(codec.encode(_session()))
    assert isinstance(record, dict)
    record.update(changes)
    return record


def _corrupt(data: bytes) -> SessionCorrupt:
    with pytest.raises(SessionCorrupt) as caught:
        codec.decode(data)
    assert caught.value.code == "session.corrupt"
    return caught.value


def test_round_trip() -> None:
    session = _session()
    assert codec.decode(codec.encode(session)) == session
    bare = _session(channel_id=None, user_id=None, cursor=None, expires_at=None, transcript=())
    assert codec.decode(codec.encode(bare)) == bare


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=30,
)


@settings(max_examples=200, deadline=None)
@given(variables=st.dictionaries(st.text(max_size=10), JSON, max_size=6), text=st.text())
def test_any_json_like_record_round_trips(variables: dict[str, Any], text: str) -> None:
    session = _session(variables=variables, transcript=(TranscriptEntry("u", text, NOW),))
    assert codec.decode(codec.encode(session)) == session


@settings(max_examples=500, deadline=None)
@given(data=st.binary(max_size=200))
def test_random_bytes_are_corrupt_or_a_record(data: bytes) -> None:
    with contextlib.suppress(SessionCorrupt):
        codec.decode(data)


def test_every_truncation_is_corrupt() -> None:
    data = codec.encode(_session())
    for cut in range(len(data)):
        _corrupt(data[:cut])


@settings(max_examples=300, deadline=None)
@given(position=st.integers(min_value=0), value=st.integers(min_value=0, max_value=255))
def test_any_changed_byte_is_corrupt_or_still_valid(position: int, value: int) -> None:
    data = bytearray(codec.encode(_session()))
    data[position % len(data)] = value
    with contextlib.suppress(SessionCorrupt):
        codec.decode(bytes(data))


def test_trailing_bytes() -> None:
    _corrupt(codec.encode(_session()) + b"\x00")


@pytest.mark.parametrize("major", [2, 3, 4, 5])  # bytes, text, array, map
def test_a_two_to_the_64_declared_length(major: int) -> None:
    head = bytes([(major << 5) | 27]) + struct.pack(">Q", 2**64 - 1)
    _corrupt(head)
    _corrupt(head + b"\x00" * 64)
    _corrupt(bytes([0xA1, 0x61, 0x61]) + head)  # nested inside a map


def test_deep_nesting_is_refused_without_recursion() -> None:
    _corrupt(b"\x81" * 100_000 + b"\x00")
    _corrupt(b"\xa1\x61a" * 100_000 + b"\x00")
    deep: Any = "leaf"
    for _ in range(codec.MAX_DEPTH + 1):
        deep = [deep]
    _corrupt(cbor2.dumps(_record(variables={"deep": deep})))


@pytest.mark.parametrize(
    "value",
    [
        [],
        "text",
        42,
        None,
        b"bytes",
        [_record()],
    ],
)
def test_a_top_level_that_is_not_a_map(value: object) -> None:
    _corrupt(cbor2.dumps(value))


@pytest.mark.parametrize(
    "changes",
    [
        {"format": 2},
        {"format": True},
        {"tenant": "ACME"},
        {"tenant": "\u0430cme"},
        {"team": "../x"},
        {"session": ""},
        {"channel": 5},
        {"user": ""},
        {"user": "u" * 257},
        {"cursor": {"flow": "f", "node": "n"}},
        {"cursor": {"flow": "F", "node": "n", "version": None}},
        {"cursor": "greet"},
        {"variables": []},
        {"variables": {"x": float("nan")}},
        {"variables": {"x": b"raw"}},
        {"transcript": {}},
        {"transcript": [{"role": "u", "text": "t", "at": 0}]},
        {"transcript": [{"role": "", "text": "t", "at": 0, "data": {}}]},
        {"transcript": [{"role": "u", "text": 1, "at": 0, "data": {}}]},
        {"transcript": [{"role": "u", "text": "t", "at": -1, "data": {}}]},
        {"transcript": [{"role": "u", "text": "t", "at": 0, "data": []}]},
        {"created_at": "2025-01-01"},
        {"updated_at": 2**62},
        {"expires_at": 1.5},
        {"revision": 0},
        {"revision": "1"},
        {"revision": False},
        {"unknown": 1},
    ],
)
def test_wrong_fields(changes: dict[str, Any]) -> None:
    _corrupt(cbor2.dumps(_record(**changes)))


def test_missing_field() -> None:
    record = _record()
    del record["revision"]
    _corrupt(cbor2.dumps(record))


@pytest.mark.parametrize(
    "tagged",
    [
        NOW,  # tag 1
        10**30,  # bignum, tag 2
        -(10**30),  # tag 3
        Fraction(1, 3),  # tag 30
        UUID(int=1),  # tag 37
        {1, 2},  # tag 258
        cbor2.CBORTag(55799, 1),  # self-described CBOR
        cbor2.CBORTag(99999, 1),  # unknown
        cbor2.CBORTag(4, [-(2**62), 10**100]),  # decimal fraction with a huge mantissa
    ],
)
def test_tags_are_refused(tagged: object) -> None:
    _corrupt(cbor2.dumps(_record(variables={"x": tagged})))


def test_shared_references_are_refused() -> None:
    # tag 28 marks a shareable value, tag 29 points back at it: a cycle
    _corrupt(bytes.fromhex("d81c81d81d00"))


def test_cbor_level_abuse() -> None:
    _corrupt(bytes.fromhex("a2616101616102"))  # duplicate key "a"
    _corrupt(bytes.fromhex("a10102"))  # integer key
    _corrupt(bytes.fromhex("62fffe"))  # invalid UTF-8
    _corrupt(bytes.fromhex("bf616101ff"))  # indefinite-length map
    _corrupt(bytes.fromhex("f7"))  # undefined
    _corrupt(bytes.fromhex("ff"))  # a lone break
    _corrupt(b"")


@pytest.mark.parametrize(
    "changes",
    [
        {"variables": {"x": math.inf}},
        {"variables": {"x": 2**63}},
        {"variables": {"x": {1, 2}}},
        {"variables": {"x": object()}},
        {"variables": {1: "x"}},
        {"created_at": datetime(2025, 1, 1)},  # naive on purpose
        {"created_at": datetime(1969, 12, 31, tzinfo=UTC)},
        {"channel_id": "Slack"},
        {"cursor": FlowCursor("flow", "Node!")},
        {"user_id": ""},
        {"revision": 0},
        {"transcript": (TranscriptEntry("", "t", NOW),)},
    ],
)
def test_encoding_refuses_what_decoding_would(changes: dict[str, Any]) -> None:
    with pytest.raises(SessionInvalid) as caught:
        codec.encode(_session(**changes))
    assert caught.value.code == "session.invalid"
