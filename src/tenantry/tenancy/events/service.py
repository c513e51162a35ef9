"""Events as the adapters see them: the schemas served, the keys that verify, the dispatcher."""

from __future__ import annotations

import base64
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

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

    def public_keys(self) -> list[tuple[str, str]]:
        """``(kid, base64url raw public key)`` of each events key, oldest first; the newest
        signs (made now if there is none yet)."""
        self._keys.active()
        found = [(kid, self._keys.public_key(kid)) for kid in self._keys.kids()]
        return [(kid, _raw(key)) for kid, key in found if key is not None]

    def verifying_keys(self) -> dict[str, Ed25519PublicKey]:
        """The same keys as :meth:`public_keys`, for :func:`signing.verify_event`."""
        found = {kid: self._keys.public_key(kid) for kid in self._keys.kids()}
        return {kid: key for kid, key in found.items() if key is not None}


def _raw(key: Ed25519PublicKey) -> str:
    raw = key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
