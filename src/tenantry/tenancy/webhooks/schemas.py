"""Webhook endpoints and deliveries as the service returns them, and who owns an endpoint."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Final

PLATFORM: Final = None  # the owner of platform-wide endpoints (``tenant_id`` NULL)
# Endpoint (and delivery) ids: ``uuid4().hex``. Any other id is simply not found.
ENDPOINT_ID_PATTERN: Final = r"^[0-9a-f]{32}$"


class Status(enum.StrEnum):
    """Where one delivery stands."""

    PENDING = "pending"  # due at ``next_attempt_at`` (first attempt, or a retry)
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # given up after the last attempt, or refused for good
    CANCELLED = "cancelled"  # its endpoint was disabled (a 410) before it succeeded


@dataclass(frozen=True, slots=True)
class Owner:
    """Whose endpoints a caller manages: a tenant's (its admins) or the platform's (None)."""

    tenant_id: str | None
    actor: str

    @property
    def label(self) -> str:
        return self.tenant_id or "platform"


@dataclass(frozen=True, slots=True)
class Endpoint:
    id: str
    tenant_id: str | None
    url: str
    filters: list[str]
    description: str
    created_at: datetime
    disabled_at: datetime | None
    disabled_reason: str | None
    secret_versions: int


@dataclass(frozen=True, slots=True)
class Added:
    """A new endpoint and its signing secret (shown once)."""

    endpoint: Endpoint
    secret: str


@dataclass(frozen=True, slots=True)
class Rotated:
    secret: str
    version: int
    previous_expires_at: datetime | None


@dataclass(frozen=True, slots=True)
class Delivery:
    id: str
    endpoint_id: str
    event_id: str
    event_type: str
    tenant_id: str
    tenant_seq: int
    status: Status
    attempts: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    latency_ms: int | None
    last_error: str | None
    replay_of: str | None
    created_at: datetime
    delivered_at: datetime | None
