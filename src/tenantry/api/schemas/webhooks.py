"""Bodies of ``/api/v1/webhooks``. Only :class:`EndpointAdded` and :class:`SecretRotated` carry
a signing secret, once."""

from __future__ import annotations

from datetime import datetime
from typing import Final

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from tenantry.tenancy.webhooks.filters import MAX_FILTERS
from tenantry.tenancy.webhooks.schemas import Added, Delivery, Endpoint, Rotated, Status
from tenantry.tenancy.webhooks.service import MAX_DESCRIPTION
from tenantry.tenancy.webhooks.urls import MAX_URL

FILTER_LIMIT: Final = 128


class EndpointIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(max_length=MAX_URL, description="http(s), no credentials; a public address.")
    filters: list[str] = Field(
        default_factory=list,
        max_length=MAX_FILTERS,
        description="Event types, prefixes ending in '.*', or '*'; empty: every type.",
        json_schema_extra={"items": {"type": "string", "maxLength": FILTER_LIMIT}},
    )
    description: str = Field("", max_length=MAX_DESCRIPTION)


class EndpointOut(BaseModel):
    id: str
    tenant_id: str | None = Field(description="null: a platform-wide endpoint.")
    url: str
    filters: list[str]
    description: str
    created_at: datetime
    disabled_at: datetime | None
    disabled_reason: str | None
    secret_versions: int

    @classmethod
    def of(cls, endpoint: Endpoint) -> EndpointOut:
        return cls(
            id=endpoint.id,
            tenant_id=endpoint.tenant_id,
            url=endpoint.url,
            filters=endpoint.filters,
            description=endpoint.description,
            created_at=endpoint.created_at,
            disabled_at=endpoint.disabled_at,
            disabled_reason=endpoint.disabled_reason,
            secret_versions=endpoint.secret_versions,
        )


class EndpointAdded(BaseModel):
    endpoint: EndpointOut
    secret: str = Field(description="The signing secret (whsec_...): shown this once.")

    @classmethod
    def of(cls, added: Added) -> EndpointAdded:
        return cls(endpoint=EndpointOut.of(added.endpoint), secret=added.secret)


class EndpointList(BaseModel):
    items: list[EndpointOut]


class SecretRotated(BaseModel):
    secret: str = Field(description="The new signing secret: shown this once.")
    version: int
    previous_expires_at: datetime | None = Field(
        description="Until then deliveries carry the previous secret's signature too."
    )

    @classmethod
    def of(cls, rotated: Rotated) -> SecretRotated:
        return cls(
            secret=rotated.secret,
            version=rotated.version,
            previous_expires_at=rotated.previous_expires_at,
        )


class DeliveryOut(BaseModel):
    id: str
    endpoint_id: str
    event_id: str
    event_type: str
    tenant_id: str
    sequence: int = Field(description="The event's per-tenant sequence (webhook-sequence).")
    status: Status
    attempts: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    latency_ms: int | None
    last_error: str | None
    replay_of: str | None
    created_at: datetime
    delivered_at: datetime | None

    @classmethod
    def of(cls, d: Delivery) -> DeliveryOut:
        return cls(
            id=d.id,
            endpoint_id=d.endpoint_id,
            event_id=d.event_id,
            event_type=d.event_type,
            tenant_id=d.tenant_id,
            sequence=d.tenant_seq,
            status=d.status,
            attempts=d.attempts,
            next_attempt_at=d.next_attempt_at,
            last_status_code=d.last_status_code,
            latency_ms=d.latency_ms,
            last_error=d.last_error,
            replay_of=d.replay_of,
            created_at=d.created_at,
            delivered_at=d.delivered_at,
        )


class DeliveryList(BaseModel):
    items: list[DeliveryOut]


class ReplayIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    delivery_id: str | None = Field(None, max_length=32, description="Replay this delivery.")
    since: AwareDatetime | None = Field(
        None, description="Replay the deliveries made from then (with a time zone)…"
    )
    until: AwareDatetime | None = Field(None, description="…until then (left out: now).")
