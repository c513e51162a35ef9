"""The verification example of ``docs/events.md`` runs as printed and agrees with
``verify_event``: it accepts a signed event and refuses a tampered one."""

from __future__ import annotations

import base64
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from tenantry.tenancy.access.signing import SigningKey
from tenantry.tenancy.events import envelope
from tenantry.tenancy.events.schemas import Event, EventType
from tenantry.tenancy.events.signing import sign

DOC = Path(__file__).parents[3] / "docs" / "events.md"


def _example() -> Any:
    text = DOC.read_text()
    block = re.search(r"With the `cryptography` package only:\n\n```python\n(.*?)```", text, re.S)
    assert block is not None, "the verification example is gone from docs/events.md"
    scope: dict[str, Any] = {}
    exec(compile(block.group(1), str(DOC), "exec"), scope)  # noqa: S102 - our own document
    return scope["verify"]


def test_the_documented_procedure_verifies_a_signed_event_and_refuses_a_tampered_one() -> None:
    verify = _example()
    key = SigningKey("kid1", Ed25519PrivateKey.generate())
    raw = key.private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    keys = {"kid1": base64.urlsafe_b64encode(raw).rstrip(b"=").decode()}
    event = Event(EventType.TENANT_CREATED, "acme", {"generation": 1, "name": "Åcme"})
    signed = sign(envelope.build(event, event_id="1f" * 16, seq=1, now=datetime.now(UTC)), key)
    assert verify(json.dumps(signed), keys) == signed
    with pytest.raises(InvalidSignature):
        verify(json.dumps(signed | {"tenantseq": 2}), keys)
