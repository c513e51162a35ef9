"""One tenancy event as a CloudEvents 1.0 structured JSON object (built with the SDK, which
checks the attributes and the extension names: lowercase letters and digits only)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Final

from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent

from tenantry.tenancy.events.catalog import dataschema
from tenantry.tenancy.events.schemas import Event

SOURCE: Final = "tenantry"
CONTENT_TYPE: Final = "application/json"
_FORMAT: Final = JSONFormat()


def build(event: Event, *, event_id: str, seq: int, now: datetime) -> dict[str, Any]:
    """The event's structured form: attributes, extensions and ``data`` (not yet signed)."""
    attributes: dict[str, Any] = {
        "specversion": "1.0",
        "id": event_id,
        "source": SOURCE,
        "type": event.type.value,
        "subject": event.tenant_id,
        "time": now,
        "datacontenttype": CONTENT_TYPE,
        "dataschema": dataschema(event.type.value),
        "tenantseq": seq,
    }
    if event.correlation_id:
        attributes["correlationid"] = event.correlation_id
    if event.causation_id:
        attributes["causationid"] = event.causation_id
    cloud = CloudEvent(attributes, dict(event.data))
    found: dict[str, Any] = json.loads(_FORMAT.write(cloud))
    return found
