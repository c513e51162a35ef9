"""Events as the adapters see them: the schemas served, the keys that verify, the dispatcher."""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from tenantry.core import ids
from tenantry.core.errors import NotFound
from tenantry.tenancy.events import catalog
from tenantry.tenancy.events.dispatch import Dispatcher
from tenantry.tenancy.events.signing import EventKeys


class EventSchemaNotFound(NotFound):
    code = "event.schema_not_found"


class EventsService:
    def __init__(self, dispatcher: Dispatcher, keys: EventKeys) -> None:
        self.dispatcher = dispatcher
        self._keys = keys

    def schemas(self) -> dict[str, dict[str, Any]]:
        """Every published schema by name: the envelope's and each type's ``data``."""
        return catalog.every_schema()

    def schema(self, name: str) -> dict[str, Any]:
        found = catalog.every_schema().get(name)
        if found is None:
            raise EventSchemaNotFound(
                f"no event schema named {ids.show(name)}", details={"name": name[:64]}
            )
        return found

    def public_keys(self) -> dict[str, Ed25519PublicKey]:
        """The events keys a consumer may verify with, by key id (oldest first)."""
        found = {kid: self._keys.public_key(kid) for kid in self._keys.kids()}
        return {kid: key for kid, key in found.items() if key is not None}
