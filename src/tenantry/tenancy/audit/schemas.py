"""What one audit record holds, before it is appended.

``actor`` is the principal's id and ``credential_id`` the credential it presented (a token's
``jti``, a key's id), never the credential. ``request_hmac`` is a keyed HMAC of the request,
never a plain hash, which would confirm a guessed secret. ``details`` never holds a secret
value or a body.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


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
