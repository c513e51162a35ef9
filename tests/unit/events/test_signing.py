"""Event signatures: a signed event verifies; any change to it, an unknown key or a malformed
signature does not."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from tenantry.tenancy.access.signing import SigningKey
from tenantry.tenancy.events import envelope
from tenantry.tenancy.events.schemas import Event, EventType
from tenantry.tenancy.events.signing import InvalidEventSignature, canonical, sign, verify_event

KEY = SigningKey("k1", Ed25519PrivateKey.generate())
PUBLIC = {"k1": KEY.private_key.public_key()}
NOW = datetime(2026, 12, 6, 10, 0, tzinfo=UTC)


def _signed() -> dict[str, Any]:
    event = Event(EventType.TENANT_SUSPENDED, "acme", {"job_id": "j1", "n": "é"}, "corr-1", "j1")
    return sign(envelope.build(event, event_id="ab" * 16, seq=3, now=NOW), KEY)


def test_a_signed_event_verifies_with_its_key_as_object_or_raw_bytes() -> None:
    signed = _signed()
    assert verify_event(json.dumps(signed), PUBLIC) == signed
    raw = KEY.private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    assert verify_event(json.dumps(signed).encode(), {"k1": raw}) == signed


def test_the_canonical_form_ignores_key_order_and_whitespace() -> None:
    signed = _signed()
    reordered = json.dumps(dict(reversed(list(signed.items()))), indent=4)
    assert verify_event(reordered, PUBLIC)["id"] == signed["id"]
    assert canonical(signed) == canonical(json.loads(reordered))
    assert b'signature"' not in canonical(signed).replace(b"signaturekid", b"")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("subject", "globex"),
        ("type", "tenancy.tenant.resumed"),
        ("tenantseq", 4),
        ("correlationid", "corr-2"),
        ("signaturekid", "k2"),
        ("data", {"job_id": "j2", "n": "é"}),
    ],
)
def test_any_change_to_a_signed_event_fails(field: str, value: Any) -> None:
    tampered = _signed() | {field: value}
    keys = PUBLIC | {"k2": KEY.private_key.public_key()}
    with pytest.raises(InvalidEventSignature):
        verify_event(json.dumps(tampered), keys)


def test_an_added_attribute_fails() -> None:
    with pytest.raises(InvalidEventSignature):
        verify_event(json.dumps(_signed() | {"extra": "x"}), PUBLIC)


@pytest.mark.parametrize(
    "given",
    [
        "not json",
        "[1, 2]",
        json.dumps({"id": "x"}),
        json.dumps(_signed() | {"signature": "!!"}),
        json.dumps(_signed() | {"signature": "AAAA"}),
        json.dumps(_signed() | {"signaturekid": "unknown"}),
        "x" * 2_000_000,
    ],
)
def test_bad_input_is_refused_clearly(given: str) -> None:
    with pytest.raises(InvalidEventSignature) as refused:
        verify_event(given, PUBLIC)
    assert refused.value.code == "event.signature_invalid"


def test_another_key_does_not_verify() -> None:
    other = {"k1": Ed25519PrivateKey.generate().public_key()}
    with pytest.raises(InvalidEventSignature):
        verify_event(json.dumps(_signed()), other)
