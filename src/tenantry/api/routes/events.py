"""``/api/v1/events/schemas`` and ``/keys``: the versioned JSON Schemas of tenancy events and
the public keys that verify their signatures.

They are the same for every tenant (no tenant data): any credential that may read a tenant
gets them, so an integrator's reader token suffices. The schemas are also in ``docs/events/``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import BaseModel

from tenantry.api.bodies import StrictJsonRoute
from tenantry.api.caller import Reader
from tenantry.api.deps import ServicesDep
from tenantry.api.problems import problem_responses
from tenantry.api.schemas.paths import documented
from tenantry.core.errors import Unavailable
from tenantry.tenancy.events.catalog import VERSION
from tenantry.tenancy.events.service import EventsService

router = APIRouter(
    prefix="/api/v1/events",
    tags=["events"],
    route_class=StrictJsonRoute,
    responses=problem_responses(401, 403, 404, 429, 503),
)


class EventSchema(BaseModel):
    name: str  # an event type, or ``tenancy.event`` for the envelope
    version: int
    id: str  # the URI events name in ``dataschema``
    document: dict[str, Any]  # the JSON Schema


class EventSchemaList(BaseModel):
    items: list[EventSchema]


def _events(services: ServicesDep) -> EventsService:
    if services.events is None:  # only where services are wired by hand
        raise Unavailable("events are not configured in this process")
    return services.events


@router.get("/schemas")
async def list_event_schemas(access: Reader, services: ServicesDep) -> EventSchemaList:
    """Every event schema: the envelope's, then each event type's ``data``."""
    del access
    found = _events(services).schemas()
    return EventSchemaList(items=[_view(name, doc) for name, doc in found.items()])


SCHEMA_NAME_PATTERN = r"^[a-z]+(?:\.[a-z]+)+$"
SchemaNamePath = Annotated[
    str,
    documented(
        "An event type (`tenancy.tenant.suspended`) or `tenancy.event`, the envelope's schema;"
        " any other name is not found.",
        pattern=SCHEMA_NAME_PATTERN,
        minLength=3,
        maxLength=64,
    ),
]


@router.get("/schemas/{schema_name}")
async def get_event_schema(
    access: Reader, services: ServicesDep, schema_name: SchemaNamePath
) -> EventSchema:
    """One event schema, by event type (``tenancy.tenant.suspended``) or ``tenancy.event``."""
    del access
    return _view(schema_name, _events(services).schema(schema_name))


class EventKey(BaseModel):
    kid: str  # as events name it in ``signaturekid``
    algorithm: str  # always ``Ed25519``
    public_key: str  # the 32 raw bytes, base64url without padding


class EventKeyList(BaseModel):
    items: list[EventKey]


@router.get("/keys")
async def list_event_keys(access: Reader, services: ServicesDep) -> EventKeyList:
    """The public keys events are signed with, oldest first (the last one signs new events)."""
    del access
    found = _events(services).public_keys()
    return EventKeyList(
        items=[EventKey(kid=kid, algorithm="Ed25519", public_key=raw) for kid, raw in found]
    )


def _view(name: str, document: dict[str, Any]) -> EventSchema:
    return EventSchema(name=name, version=VERSION, id=str(document["$id"]), document=document)
