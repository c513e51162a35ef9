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
GENESIS: Final = "0" * 64  # the previous hash of a chain's first link
PLATFORM_CHAIN: Final = "@platform"  # no tenant id has an "@"
_ENCODER: Final = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def chain_of(tenant_id: str | None) -> str:
    """The chain a record of ``tenant_id`` belongs to."""
    return PLATFORM_CHAIN if tenant_id is None else tenant_id


def timestamp(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def record_values(row: Sequence[Any]) -> list[Any]:
    """A stored row (in :data:`FIELDS` order, ``ts`` a datetime) as the canonical values."""
    values = list(row)
    values[1] = timestamp(values[1])
    return values


def link_hash(prev_hash: str, chain: str, seq: int, values: Sequence[Any]) -> str:
    """The hash of the link at ``seq`` of ``chain`` holding the record ``values``."""
    body = _ENCODER.encode(values)
    return hashlib.sha256(f"{prev_hash}\n{chain}\n{seq}\n{body}".encode()).hexdigest()


def checkpoint_message(chain: str, seq: int, hash_: str, *, ts: str, kind: str, kid: str) -> bytes:
    """What a checkpoint's signature covers."""
    fields = ["tenantry-audit-checkpoint", chain, seq, hash_, ts, kind, kid]
    return _ENCODER.encode(fields).encode()
