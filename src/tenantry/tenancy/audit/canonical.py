"""The chain's hashes and the checkpoints' signed messages, computed purely.

A record's canonical form is the JSON array of :data:`FIELDS` (sorted keys inside ``details``,
no whitespace, ASCII only), the timestamp as ISO 8601 with microseconds in UTC. A link's hash is
SHA-256 over the previous hash, the chain, the sequence number and that form, so an edited
field, a record moved to another place or chain, and a changed predecessor all change it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Final

FIELDS: Final = (
    "id",
    "ts",
    "actor",
    "action",
    "tenant_id",
    "outcome",
    "correlation_id",
    "details",
    "env_id",
    "team_id",
    "credential_id",
    "target",
    "request_hmac",
    "user_ref",
)
TENANT_FIELD: Final = FIELDS.index("tenant_id")
_DETAILS: Final = FIELDS.index("details")
_SQLITE_TS_CHARS: Final = len("2026-12-06 10:31:05.999078")
GENESIS: Final = "0" * 64  # the previous hash of a chain's first link
PLATFORM_CHAIN: Final = "@platform"  # no tenant id has an "@"
_ENCODER: Final = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=True)
# The C encoder behind ``_ENCODER.encode``, made once (``encode`` makes one per call): the same
# arguments, bar the check for circular references, which a record read from JSON cannot hold.
_MAKE: Final[Any] = getattr(json.encoder, "c_make_encoder", None)
_ONE_SHOT: Final[Any] = (
    None
    if _MAKE is None
    else _MAKE(
        None,
        _ENCODER.default,
        json.encoder.encode_basestring_ascii,
        None,
        ":",
        ",",
        True,
        False,
        True,
    )
)


def chain_of(tenant_id: str | None) -> str:
    """The chain a record of ``tenant_id`` belongs to."""
    return PLATFORM_CHAIN if tenant_id is None else tenant_id


def timestamp(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def record_values(row: Sequence[Any]) -> list[Any]:
    """A row as the driver returns it (in :data:`FIELDS` order) as the canonical values:
    ``ts`` a datetime (PostgreSQL) or SQLite's text, ``details`` a dict or JSON text."""
    values = list(row)
    values[1] = _stored_timestamp(values[1])
    details = values[_DETAILS]
    if isinstance(details, str):
        values[_DETAILS] = json.loads(details)
    return values


def record_values_rendered(row: Sequence[Any]) -> list[Any]:
    """:func:`record_values` of a row whose ``ts`` the database already rendered as
    :func:`timestamp` does (a verifying worker on PostgreSQL)."""
    values = list(row)
    details = values[_DETAILS]
    if isinstance(details, str):
        values[_DETAILS] = json.loads(details)
    return values


def _stored_timestamp(value: datetime | str) -> str:
    if isinstance(value, datetime):
        return timestamp(value)
    if len(value) == _SQLITE_TS_CHARS and value[10] == " ":  # UTC, as SQLAlchemy writes it
        return f"{value[:10]}T{value[11:]}+00:00"
    parsed = datetime.fromisoformat(value)  # written some other way (by hand)
    return timestamp(parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC))


def body(values: Sequence[Any]) -> str:
    """A record's canonical form."""
    if _ONE_SHOT is None or not isinstance(values, list | tuple):
        return _ENCODER.encode(values)
    return "".join(_ONE_SHOT(values, 0))


def link_hash(prev_hash: str, chain: str, seq: int, values: Sequence[Any]) -> str:
    """The hash of the link at ``seq`` of ``chain`` holding the record ``values``."""
    return body_hash(prev_hash, chain, seq, body(values))


def body_hash(prev_hash: str, chain: str, seq: int, canonical_body: str) -> str:
    """:func:`link_hash` of a record whose canonical form is known (an export holds it)."""
    return hashlib.sha256(f"{prev_hash}\n{chain}\n{seq}\n{canonical_body}".encode()).hexdigest()


def checkpoint_message(chain: str, seq: int, hash_: str, *, ts: str, kind: str, kid: str) -> bytes:
    """What a checkpoint's signature covers."""
    fields = ["tenantry-audit-checkpoint", chain, seq, hash_, ts, kind, kid]
    return _ENCODER.encode(fields).encode()
