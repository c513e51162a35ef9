"""The audit log's pure parts: the request HMAC, pseudonyms, the canonical form, what a tenant's
admins see, and the verifier on hand-made chains."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from tenantry.tenancy.audit import canonical, hmac, views
from tenantry.tenancy.audit.ports import PublicKeyInfo
from tenantry.tenancy.audit.schemas import AuditItem
from tenantry.tenancy.audit.verify import PRUNE, ChainVerifier, Checkpoint, Link, public_keys

KEY = b"k" * 32
SETTLE = timedelta(minutes=5)


def test_the_request_hmac_is_keyed_and_covers_every_part() -> None:
    base = hmac.request_hmac(KEY, "put", "/api/v1/state/a", b"{}", tenant="acme")
    assert base == hmac.request_hmac(KEY, "PUT", "/api/v1/state/a", b"{}", tenant="acme")
    variants = [
        hmac.request_hmac(b"x" * 32, "PUT", "/api/v1/state/a", b"{}", tenant="acme"),
        hmac.request_hmac(KEY, "POST", "/api/v1/state/a", b"{}", tenant="acme"),
        hmac.request_hmac(KEY, "PUT", "/api/v1/state/b", b"{}", tenant="acme"),
        hmac.request_hmac(KEY, "PUT", "/api/v1/state/a", b"[]", tenant="acme"),
        hmac.request_hmac(KEY, "PUT", "/api/v1/state/a", b"{}", tenant="beta"),
    ]
    assert len({base, *variants}) == 6 and len(base) == 64


def test_a_pseudonym_depends_on_the_key_and_never_holds_the_id() -> None:
    found = hmac.pseudonym(KEY, "alice@example.com", scope=hmac.TENANT_SCOPE)
    assert found.startswith("t:") and "alice" not in found
    assert found != hmac.pseudonym(b"y" * 32, "alice@example.com", scope=hmac.TENANT_SCOPE)


@pytest.mark.parametrize(
    ("stored", "expected"),
    [
        ("2026-12-06 10:31:05.999078", "2026-12-06T10:31:05.999078+00:00"),
        ("2026-12-06 12:31:05+02:00", "2026-12-06T10:31:05.000000+00:00"),
        (datetime(2026, 12, 6, 10, 31, 5, tzinfo=UTC), "2026-12-06T10:31:05.000000+00:00"),
    ],
)
def test_timestamps_have_one_canonical_spelling(stored: object, expected: str) -> None:
    row = [1, stored, "a", "b", None, "succeeded", None, '{"b": 1, "a": 2}', *[None] * 6]
    values = canonical.record_values(row)
    assert values[1] == expected
    assert canonical.body(values).startswith(f'[1,"{expected}","a","b",null,')
    assert '{"a":2,"b":1}' in canonical.body(values)


def _item(**fields: object) -> AuditItem:
    base: dict[str, object] = {
        "id": 1,
        "ts": datetime(2026, 12, 6, tzinfo=UTC),
        "actor": "mallory",
        "action": "GET /api/v1/state/{id}",
        "tenant_id": "acme",
        "outcome": "denied",
        "correlation_id": "c",
        "details": {
            "reason": "auth.tenant_mismatch",
            "credential": "jti-1",
            "granted_tenants": ["globex"],
            "selected_tenant": "acme",
        },
        "env_id": None,
        "team_id": "ops",
        "credential_id": "jti-1",
        "target": None,
        "user": "t:abc",
        "chain": "acme",
        "seq": 1,
    }
    return AuditItem.model_validate(base | fields)


def test_a_tenant_sees_an_intruders_attempt_without_who_or_how() -> None:
    seen = views.for_tenant(_item(), "acme")
    assert (seen.actor, seen.credential_id, seen.user, seen.team_id) == (
        views.FOREIGN,
        None,
        None,
        None,
    )
    assert seen.details == {"reason": "auth.tenant_mismatch"}
    assert (seen.action, seen.outcome, seen.ts) == (_item().action, "denied", _item().ts)


def test_a_tenant_sees_an_intruders_route_never_the_path_it_sent() -> None:
    sent = {"route": "PUT /api/v1/state/{session_id}", "granted_tenants": ["globex"]}
    seen = views.for_tenant(_item(target="/api/v1/state/globex-secret-name", details=sent), "acme")
    assert seen.target == "PUT /api/v1/state/{session_id}"


def test_a_tenant_sees_its_own_principals_without_caller_details() -> None:
    own = _item(details={"credential": "jti-1", "granted_tenants": ["acme"], "role": "viewer"})
    seen = views.for_tenant(own, "acme")
    assert seen.actor == "mallory" and seen.details == {"role": "viewer"}


class _Chain:
    """A hand-made chain of ``n`` records, with a signing key."""

    def __init__(self, n: int, chain: str = "acme") -> None:
        self.chain, self.key = chain, Ed25519PrivateKey.generate()
        self.links: list[Link] = []
        prev = canonical.GENESIS
        for seq in range(1, n + 1):
            ts = f"2026-12-06T10:00:{seq:02d}.000000+00:00"
            values = [seq, ts, "a", "x", chain, "succeeded", None, {}, *[None] * 6]
            hash_ = canonical.link_hash(prev, chain, seq, values)
            self.links.append((seq, seq, prev, hash_, values, None))
            prev = hash_

    def checkpoint(self, seq: int, kind: str = "interval") -> Checkpoint:
        hash_ = self.links[seq - 1][3]
        ts = "2026-12-06T11:00:00.000000+00:00"
        message = canonical.checkpoint_message(self.chain, seq, hash_, ts=ts, kind=kind, kid="k1")
        signature = base64.b64encode(self.key.sign(message)).decode()
        return Checkpoint(self.chain, seq, hash_, ts, kind, "k1", signature)

    def verifier(self, *checkpoints: Checkpoint) -> ChainVerifier:
        raw = self.key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        keys = public_keys([PublicKeyInfo("k1", "", base64.b64encode(raw).decode())])
        return ChainVerifier(self.chain, checkpoints, keys, settle=SETTLE)


def test_a_whole_chain_verifies_and_a_cut_one_does_not() -> None:
    chain = _Chain(5)
    whole = chain.verifier(chain.checkpoint(5))
    whole.check(chain.links)
    assert whole.report().breach is None and whole.report().verified == 5
    cut = chain.verifier(chain.checkpoint(5))
    cut.check(chain.links[:3])
    breach = cut.report().breach
    assert breach is not None and breach.seq == 4 and "truncated" in breach.reason


def test_what_remains_after_a_prune_verifies_from_its_checkpoint() -> None:
    chain = _Chain(6)
    anchor = chain.checkpoint(3, PRUNE)
    rest = chain.verifier(anchor)
    rest.check(chain.links[3:])
    assert rest.report().breach is None
    gap = chain.verifier(anchor)
    gap.check(chain.links[4:])
    breach = gap.report().breach
    assert breach is not None and breach.seq == 4


def test_a_checkpoint_under_an_unknown_key_is_refused() -> None:
    chain = _Chain(2)
    forged = chain.checkpoint(2)
    other = _Chain(2)
    verifier = other.verifier(forged)
    verifier.check(chain.links)
    breach = verifier.report().breach
    assert breach is not None and "signature" in breach.reason
