"""Session records to CBOR and back, safe against hostile bytes.

The record is a CBOR map of plain values: text, 64-bit integers, finite floats, booleans, null,
arrays and text-keyed maps; timestamps are integer microseconds since the epoch and a transcript
entry is the array ``[role, text, time, data]``. Variables and entry data hold exactly those
types (not subclasses of them), nested at most :data:`MAX_DEPTH` deep. Decoding reads
from a bounded bytes object with cbor2's limits on (nesting depth, no indefinite lengths, no
duplicate or non-text keys), refuses every tag (the writer never emits one, and tags are where
bignums, shared references and costly conversions live), refuses trailing bytes, then checks the
structure field by field. Anything wrong is :class:`SessionCorrupt`; the same checks on the way
in raise :class:`SessionInvalid`, so a record that was written can always be read.
"""

from __future__ import annotations

import functools
import io
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Final, cast

import cbor2

from tenantry.core import ids
from tenantry.runtime.sessions.errors import SessionCorrupt, SessionInvalid
from tenantry.runtime.sessions.schemas import FlowCursor, Session, TranscriptEntry

FORMAT: Final = 1
MAX_DEPTH: Final = 32  # nesting allowed inside variables and transcript data
MAX_USER: Final = 256
MAX_ROLE: Final = 64
_ID_MAX: Final = 64  # the longest id the grammar allows
_INT_MIN, _INT_MAX = -(2**63), 2**63 - 1
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO: Final = timedelta(microseconds=1)
_TIME_MAX: Final = (datetime(9999, 12, 31, tzinfo=UTC) - _EPOCH) // _MICRO
_PLAIN: Final = frozenset({str, bool, type(None)})
# Control characters (C0, DEL, C1) and the Unicode line separators: a user id is written into
# logs, audit records and messages, where a NUL or a line break would forge or cut a line.
USER_PATTERN: Final = r"^[^\u0000-\u001F\u007F-\u009F\u2028\u2029]+$"
_USER_REFUSED: Final = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_FIELDS: Final = frozenset(
    {"format", "tenant", "env", "team", "session", "channel", "user", "cursor", "variables"}
    | {"transcript", "created_at", "updated_at", "expires_at", "revision"}
)
# Tags cbor2 6 decodes natively; each is overridden to fail, the rest hit the tag hook.
_NATIVE_TAGS: Final = (0, 1, 2, 3, 4, 5, 25, 28, 29, 30, 35, 36, 37, 52, 54, 100, 256, 258)
_MORE_NATIVE_TAGS: Final = (260, 261, 1004, 43000, 55799)


class _Tagged(ValueError):
    pass


def _refuse_tag(*_: object) -> object:
    raise _Tagged("CBOR tags are not allowed in a session record")


_REFUSED = dict.fromkeys((*_NATIVE_TAGS, *_MORE_NATIVE_TAGS), _refuse_tag)


def user_id(value: str | None) -> str | None:
    """``value`` if it is a user id a new session may carry: 1 to :data:`MAX_USER` characters,
    none of them a control character or line separator; :class:`SessionInvalid` otherwise."""
    if value is None:
        return None
    _optional_text(value, SessionInvalid, "user_id", MAX_USER, nullable=False)
    found = _USER_REFUSED.search(value)
    if found is not None:
        raise SessionInvalid(
            f"session user_id may not hold control characters or line breaks: "
            f"U+{ord(found.group()):04X} at position {found.start()}"
        )
    return value


def encode(session: Session) -> bytes:
    """The record's CBOR; :class:`SessionInvalid` if a field breaks the format's rules."""
    record = _to_map(session)
    _check_record(record, SessionInvalid)
    return cbor2.dumps(record)


def decode(data: bytes) -> Session:
    """The record in ``data``; :class:`SessionCorrupt` for anything but a well-formed record."""
    stream = io.BytesIO(data)
    try:
        record = cbor2.CBORDecoder(
            stream,
            tag_hook=_refuse_tag,
            semantic_decoders=_REFUSED,
            max_depth=MAX_DEPTH + 4,
            allow_indefinite=False,
            allow_duplicate_keys=False,
            strict_hashable_types=True,
        ).decode()
    except (cbor2.CBORDecodeError, ValueError, TypeError, OverflowError, RecursionError) as error:
        raise SessionCorrupt(f"session record is not valid CBOR: {error}") from error
    if stream.tell() != len(data):
        raise SessionCorrupt("session record has trailing bytes after its CBOR value")
    _check_record(record, SessionCorrupt)
    return _from_map(record)


def check_json(value: object, error: type[Exception], where: str, depth: int = 0) -> None:
    """Refuse anything but JSON-like values (finite floats, 64-bit ints, text-keyed maps).

    Written for speed: leaves that are text, booleans or null cost one set lookup.
    """
    kind = type(value)
    if kind in _PLAIN:
        return
    if kind is dict or kind is list or kind is tuple:
        _check_container(cast("dict[object, object] | list[object]", value), error, where, depth)
    elif kind is int:
        if not _INT_MIN <= cast(int, value) <= _INT_MAX:
            raise error(f"{where} holds an integer outside the signed 64-bit range")
    elif kind is float:
        if not math.isfinite(cast(float, value)):
            raise error(f"{where} holds a non-finite number")
    else:
        raise error(f"{where} holds a {kind.__name__}, which is not a JSON-like value")


def _check_container(
    value: dict[object, object] | list[object], error: type[Exception], where: str, depth: int
) -> None:
    if depth >= MAX_DEPTH:
        raise error(f"{where} is nested deeper than {MAX_DEPTH} levels")
    if type(value) is dict:
        if any(type(key) is not str for key in value):
            raise error(f"{where} has a key that is not a string")
        items: Iterable[object] = value.values()
    else:
        items = value
    for item in items:
        if type(item) not in _PLAIN:
            check_json(item, error, where, depth + 1)


def _check_record(record: object, error: type[Exception]) -> None:
    if type(record) is not dict:
        raise error("a session record is a CBOR map")
    if record.keys() != _FIELDS:
        raise error(f"session record fields differ from format {FORMAT}")
    if record["format"] != FORMAT or type(record["format"]) is not int:
        raise error(f"session record format is not {FORMAT}")
    _optional_text(record["user"], error, "user", MAX_USER, nullable=True)
    _check_ids(record, error)
    if type(record["variables"]) is not dict:
        raise error("session variables are a map")
    check_json(record["variables"], error, "session variables")
    _check_transcript(record["transcript"], error)
    for name in ("created_at", "updated_at", "expires_at"):
        _check_time(record[name], error, name, nullable=name == "expires_at")
    revision = record["revision"]
    if type(revision) is not int or not 0 < revision <= _INT_MAX:
        raise error("session revision is a positive integer")


def _check_ids(record: dict[str, Any], error: type[Exception]) -> None:
    cursor = record["cursor"]
    if cursor is not None and (
        type(cursor) is not dict or cursor.keys() != {"flow", "node", "version"}
    ):
        raise error("session cursor is a map of flow, node and version")
    flow, node = (None, None) if cursor is None else (cursor["flow"], cursor["node"])
    required: tuple[object, ...] = (record["tenant"], record["env"], record["team"])
    required += (record["session"],)
    optional: tuple[object, ...] = (record["channel"], flow, node)
    if not all(_short_text(v) for v in required) or not all(
        v is None or _short_text(v) for v in optional
    ):
        raise error(f"session ids are strings of at most {_ID_MAX} characters")
    problem = _id_problem(cast("tuple[str | None, ...]", required + optional))
    if problem is not None:
        raise error(f"session record holds an invalid id: {problem}")
    if cursor is not None:
        _optional_text(cursor["version"], error, "cursor version", 64, nullable=True)


def _short_text(value: object) -> bool:
    return isinstance(value, str) and type(value) is str and len(value) <= _ID_MAX


@functools.lru_cache(maxsize=1024)  # records of one conversation repeat the same ids
def _id_problem(values: tuple[str | None, ...]) -> str | None:
    """What is wrong with (tenant, env, team, session, channel, flow, node), if anything."""
    tenant, env, team, session, channel, flow, node = values
    try:
        ids.tenant_id(tenant)
        ids.env_id(env)
        ids.team_id(team)
        ids.session_id(session)
        if channel is not None:
            ids.channel_id(channel)
        if flow is not None:
            ids.flow_name(flow)
            ids.node_id(node)
    except ids.InvalidId as invalid:
        return invalid.message
    return None


def _optional_text(
    value: object, error: type[Exception], name: str, limit: int, *, nullable: bool
) -> None:
    if value is None and nullable:
        return
    if type(value) is not str or not 0 < len(value) <= limit:
        raise error(f"session {name} is a string of 1 to {limit} characters")


def _check_transcript(transcript: object, error: type[Exception]) -> None:
    if type(transcript) is not list:
        raise error("session transcript is an array")
    for entry in transcript:
        if type(entry) is not list or len(entry) != 4:
            raise error("a transcript entry is an array [role, text, time, data]")
        role, text, at, data = entry
        if not (type(role) is str and 0 < len(role) <= MAX_ROLE):
            raise error(f"transcript role is a string of 1 to {MAX_ROLE} characters")
        if type(text) is not str:
            raise error("transcript text is a string")
        if type(at) is not int or not 0 <= at <= _TIME_MAX:
            raise error("transcript time is not a valid timestamp")
        if type(data) is not dict:
            raise error("transcript data is a map")
        if data:
            check_json(data, error, "transcript data", 1)


def _check_time(value: object, error: type[Exception], name: str, *, nullable: bool) -> None:
    if value is None and nullable:
        return
    if type(value) is not int or not 0 <= value <= _TIME_MAX:
        raise error(f"session {name} is not a valid timestamp")


def _micros(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise SessionInvalid("session timestamps must be timezone-aware")
    return (moment - _EPOCH) // _MICRO


def _moment(micros: int) -> datetime:
    return _EPOCH + micros * _MICRO


def _to_map(session: Session) -> dict[str, Any]:
    cursor = session.cursor
    expires = session.expires_at
    return {
        "format": FORMAT,
        "tenant": session.tenant_id,
        "env": session.env_id,
        "team": session.team_id,
        "session": session.session_id,
        "channel": session.channel_id,
        "user": session.user_id,
        "cursor": None if cursor is None else _cursor_map(cursor),
        "variables": _plain_map(session.variables),
        "transcript": _transcript_lists(session.transcript),
        "created_at": _micros(session.created_at),
        "updated_at": _micros(session.updated_at),
        "expires_at": None if expires is None else _micros(expires),
        "revision": session.revision,
    }


def _cursor_map(cursor: FlowCursor) -> dict[str, Any]:
    return {"flow": cursor.flow, "node": cursor.node, "version": cursor.version}


def _transcript_lists(transcript: Sequence[TranscriptEntry]) -> list[list[Any]]:
    try:  # naive times fail the subtraction; one comprehension keeps long transcripts cheap
        return [
            [role, text, (at - _EPOCH) // _MICRO, data if type(data) is dict else _plain_map(data)]
            for role, text, at, data in transcript
        ]
    except (TypeError, ValueError) as error:
        message = f"transcript entries must be (role, text, timezone-aware time, data): {error}"
        raise SessionInvalid(message) from error


def _plain_map(value: Mapping[str, Any]) -> Any:
    # A read-only or custom mapping is stored as a plain map; anything else is left for the
    # checks to refuse.
    if type(value) is dict:
        return value
    return dict(value) if isinstance(value, Mapping) else value


def _from_map(record: dict[str, Any]) -> Session:
    """Build the record; its fields were checked by :func:`_check_record`."""
    cursor = record["cursor"]
    expires = record["expires_at"]
    return Session(
        tenant_id=record["tenant"],
        env_id=record["env"],
        team_id=record["team"],
        session_id=record["session"],
        channel_id=record["channel"],
        user_id=record["user"],
        cursor=None if cursor is None else FlowCursor(**cursor),
        variables=record["variables"],
        transcript=tuple(
            TranscriptEntry(role, text, _EPOCH + at * _MICRO, data)
            for role, text, at, data in record["transcript"]
        ),
        created_at=_moment(record["created_at"]),
        updated_at=_moment(record["updated_at"]),
        expires_at=None if expires is None else _moment(expires),
        revision=record["revision"],
    )
