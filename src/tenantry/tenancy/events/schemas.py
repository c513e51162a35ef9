"""The tenancy event types (CloudEvents 1.0 ``type``) and one event before it is written.

The subject of every event is its tenant. ``correlation_id`` ties the event to the request or
job that caused it; ``causation_id`` names the event or record that caused it, when there is one.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


class EventType(enum.StrEnum):
    TENANT_CREATED = "tenancy.tenant.created"
    TENANT_UPDATED = "tenancy.tenant.updated"
    TENANT_PROVISIONED = "tenancy.tenant.provisioned"
    TENANT_SUSPENDED = "tenancy.tenant.suspended"
    TENANT_RESUMED = "tenancy.tenant.resumed"
    TENANT_ARCHIVED = "tenancy.tenant.archived"
    TENANT_RESTORED = "tenancy.tenant.restored"
    TENANT_DELETED = "tenancy.tenant.deleted"
    MIGRATION_STARTED = "tenancy.tenant.migration.started"
    MIGRATION_COMPLETED = "tenancy.tenant.migration.completed"
    MIGRATION_FAILED = "tenancy.tenant.migration.failed"
    QUOTA_EXCEEDED = "tenancy.tenant.quota.exceeded"
    POLICY_VIOLATED = "tenancy.tenant.policy.violated"
    JOB_FAILED = "tenancy.tenant.job.failed"


@dataclass(frozen=True, slots=True)
class Event:
    """One event to write to the outbox, in the transaction of the change it announces."""

    type: EventType
    tenant_id: str
    data: Mapping[str, Any] = field(default_factory=dict)
    correlation_id: str | None = None
    causation_id: str | None = None
