"""What one audit record holds, before it is appended.

``actor`` is the principal's id and ``credential_id`` the credential it presented (a token's
``jti``, a key's id), never the credential. ``request_hmac`` is a keyed HMAC of the request,
never a plain hash, which would confirm a guessed secret. ``details`` never holds a secret
value or a body. ``user_id`` is never stored: ``log.append`` stores its keyed pseudonym.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


class Outcome(enum.StrEnum):
    ALLOWED = "allowed"  # a platform admin acted on a tenant
    DENIED = "denied"  # a refused attempt (access, limit, policy)
    SUCCEEDED = "succeeded"  # a change was made
    FAILED = "failed"  # a change was attempted and failed or was rolled back


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One record to append to ``audit_records``."""

    actor: str
    action: str
    tenant_id: str | None
    outcome: Outcome
    correlation_id: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)
    env_id: str | None = None
    team_id: str | None = None
    credential_id: str | None = None
    target: str | None = None
    request_hmac: str | None = None
    user_id: str | None = None  # stored only as a pseudonym under the tenant's key


class AuditItem(BaseModel):
    """One record as listed: ``chain`` and ``seq`` are None while it is pending (not yet
    chained). ``user`` is the stored pseudonym, or the user id when the caller named it."""

    model_config = ConfigDict(frozen=True)

    id: int
    ts: datetime
    actor: str
    action: str
    tenant_id: str | None
    outcome: str
    correlation_id: str | None
    details: dict[str, Any]
    env_id: str | None
    team_id: str | None
    credential_id: str | None
    target: str | None
    user: str | None
    chain: str | None
    seq: int | None


@dataclass(frozen=True, slots=True)
class Breach:
    """The first bad place of a chain: the link's ``seq`` and the record it names (None when
    the record itself is gone or unknown)."""

    chain: str
    seq: int
    record_id: int | None
    reason: str


@dataclass(frozen=True, slots=True)
class ChainReport:
    chain: str
    verified: int  # links whose hash was recomputed
    head: int  # the last verified seq (0: none)
    checkpoints: int  # signatures checked
    pending: int = 0  # records not chained yet (not a failure)
    breach: Breach | None = None


@dataclass(frozen=True, slots=True)
class Verdict:
    chains: list[ChainReport]

    @property
    def intact(self) -> bool:
        return all(report.breach is None for report in self.chains)

    @property
    def verified(self) -> int:
        return sum(report.verified for report in self.chains)

    @property
    def breaches(self) -> list[Breach]:
        return [r.breach for r in self.chains if r.breach is not None]
