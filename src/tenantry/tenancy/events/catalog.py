"""The versioned JSON Schemas of tenancy events: one for the envelope, one per type's ``data``.

A schema's ``$id`` is the event's ``dataschema`` (``urn:tenantry:events:{type}:v{n}``). A change
that could break a consumer is a new version; the documents in ``docs/events/`` are generated
from this module (``python -m tenantry.tenancy.events.publish``) and a test keeps them equal.
"""

from __future__ import annotations

from typing import Any, Final

from tenantry.tenancy.events.schemas import EventType

VERSION: Final = 1
DRAFT: Final = "https://json-schema.org/draft/2020-12/schema"
ENVELOPE: Final = "tenancy.event"  # the name of the envelope's schema

_ID = {"type": "string", "pattern": "^[a-z0-9]+(-[a-z0-9]+)*$", "maxLength": 32}
_TEXT = {"type": "string", "maxLength": 2000}
_OPTIONAL_TEXT = {"type": ["string", "null"], "maxLength": 2000}
_COUNT = {"type": "integer", "minimum": 0}

_JOB: Final = {
    "description": "A lifecycle job's step: the job, its kind and state, the tenant's state.",
    "properties": {
        "job_id": {"type": "string", "maxLength": 32},
        "kind": {
            "enum": ["suspend", "resume", "archive", "restore", "delete", "migrate", "rotate-keys"]
        },
        "change": {"enum": ["requested", "started", "succeeded", "failed", "cancelled"]},
        "job_state": {
            "enum": ["queued", "scheduled", "running", "succeeded", "failed", "cancelled"]
        },
        "tenant_state": {"type": ["string", "null"], "maxLength": 16},
        "env_id": {"type": ["string", "null"], "maxLength": 16},
        "requested_by": {"type": "string", "maxLength": 128},
        "error": _OPTIONAL_TEXT,
    },
    "required": ["job_id", "kind", "change", "job_state", "tenant_state", "env_id", "error"],
}
_STORED: Final = {
    "description": "A tenant's desired state stored by an apply, a create or a replace.",
    "properties": {
        "generation": {"type": "integer", "minimum": 1},
        "source": {"type": "string", "maxLength": 32},
        "changed": {"type": "array", "items": {"type": "string", "maxLength": 1024}},
    },
    "required": ["generation", "source", "changed"],
}
_PROVISIONED: Final = {
    "description": "The controller found every resource of the tenant ready, the first time.",
    "properties": {
        "generation": {"type": "integer", "minimum": 1},
        "environments": {"type": "array", "items": {"type": "string", "maxLength": 16}},
    },
    "required": ["generation", "environments"],
}
_QUOTA: Final = {
    "description": "A storage quota refused a write, or the AI-token cap a charge; one event per "
    "tenant, resource and window. Storage resources carry bytes (and items); `ai_tokens` carries "
    "the tokens used, the cap and its period.",
    "properties": {
        "resource": {"type": "string", "maxLength": 32},
        "window_start": {"type": "string", "format": "date-time"},
        "window_seconds": {"type": "integer", "minimum": 1},
        "exhausted": {"enum": ["bytes", "items"]},
        "used_bytes": _COUNT,
        "max_bytes": _COUNT,
        "used_items": _COUNT,
        "max_items": _COUNT,
        "used": _COUNT,
        "cap": _COUNT,
        "period": {"type": "string", "maxLength": 16},
    },
    "required": ["resource", "window_start", "window_seconds"],
    "if": {"properties": {"resource": {"const": "ai_tokens"}}},
    "then": {"required": ["used", "cap", "period"]},
    "else": {"required": ["used_bytes", "max_bytes"]},
}
_POLICY: Final = {
    "description": "A policy stopped a transition or an apply: the first violation's check and "
    "reason, and every violation.",
    "properties": {
        "tenant_id": _ID,
        "policy": {"type": ["string", "null"], "maxLength": 128},  # null: the plan's checks
        "action": {"type": "string", "maxLength": 128},
        "check": {"type": "string", "maxLength": 64},
        "reason": _TEXT,
        "violations": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"check": {"type": "string"}, "reason": {"type": "string"}},
                "required": ["check", "reason"],
            },
        },
    },
    "required": ["policy", "action", "check", "reason"],
}
_DATA: Final[dict[EventType, dict[str, Any]]] = {
    EventType.TENANT_CREATED: _STORED,
    EventType.TENANT_UPDATED: _STORED,
    EventType.TENANT_PROVISIONED: _PROVISIONED,
    EventType.QUOTA_EXCEEDED: _QUOTA,
    EventType.POLICY_VIOLATED: _POLICY,
    **dict.fromkeys(
        (
            EventType.TENANT_SUSPENDED,
            EventType.TENANT_RESUMED,
            EventType.TENANT_ARCHIVED,
            EventType.TENANT_RESTORED,
            EventType.TENANT_DELETED,
            EventType.MIGRATION_STARTED,
            EventType.MIGRATION_COMPLETED,
            EventType.MIGRATION_FAILED,
            EventType.JOB_FAILED,
        ),
        _JOB,
    ),
}
_STRICT: Final = frozenset({EventType.QUOTA_EXCEEDED})


def dataschema(name: str, version: int = VERSION) -> str:
    """The URI naming a schema: an event's ``dataschema`` and the schema's ``$id``."""
    return f"urn:tenantry:events:{name}:v{version}"


def data_schema(event_type: EventType) -> dict[str, Any]:
    """The JSON Schema of ``data`` of an event of ``event_type``."""
    body = _DATA[event_type]
    return {
        "$schema": DRAFT,
        "$id": dataschema(event_type.value),
        "title": f"{event_type.value} data, version {VERSION}",
        "type": "object",
        **body,
        "additionalProperties": event_type not in _STRICT,
    }


def envelope_schema() -> dict[str, Any]:
    """The JSON Schema of a whole event, as published on the bus and stored in the outbox."""
    return {
        "$schema": DRAFT,
        "$id": dataschema(ENVELOPE),
        "title": f"A Tenantry event (CloudEvents 1.0, structured JSON), version {VERSION}",
        "type": "object",
        "properties": {
            "specversion": {"const": "1.0"},
            "id": {"type": "string", "pattern": "^[0-9a-f]{32}$"},
            "source": {"const": "tenantry"},
            "type": {"enum": [t.value for t in EventType]},
            "subject": _ID,
            "time": {"type": "string", "format": "date-time"},
            "datacontenttype": {"const": "application/json"},
            "dataschema": {"type": "string", "pattern": "^urn:tenantry:events:[a-z.]+:v[0-9]+$"},
            "tenantseq": {"type": "integer", "minimum": 1},
            "correlationid": {"type": "string", "maxLength": 128},
            "causationid": {"type": "string", "maxLength": 128},
            "signaturekid": {"type": "string", "maxLength": 64},
            "signature": {"type": "string", "pattern": "^[A-Za-z0-9_-]{86}$"},
            "data": {"type": "object"},
        },
        "required": [
            "specversion",
            "id",
            "source",
            "type",
            "subject",
            "time",
            "datacontenttype",
            "dataschema",
            "tenantseq",
            "data",
        ],
        "additionalProperties": False,
    }


def every_schema() -> dict[str, dict[str, Any]]:
    """Every published schema by name: the envelope's, then each type's data schema."""
    return {ENVELOPE: envelope_schema(), **{t.value: data_schema(t) for t in EventType}}
