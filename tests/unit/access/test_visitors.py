"""Visitor tokens: bound to one conversation by their ``conv`` claim, verified strictly, and
resolved only to that conversation's tenant environment and team."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest

from tenantry.backends.keys.signing import SigningKeyring
from tenantry.tenancy.access import resolution
from tenantry.tenancy.access.errors import (
    EnvMismatch,
    InvalidGrant,
    InvalidToken,
    TeamMismatch,
    TenantMismatch,
)
from tenantry.tenancy.access.issuing import grants_of
from tenantry.tenancy.access.resolution import Selection
from tenantry.tenancy.access.schemas import (
    Conversation,
    Grant,
    PrincipalKind,
    Role,
    checked_grant,
)
from tenantry.tenancy.access.signing import AUDIENCE, ISSUER, Claims, sign, verify

NOW = datetime(2031, 5, 1, 12, tzinfo=UTC)
LEEWAY = timedelta(seconds=30)
CONV = Conversation("prod", "support", "webchat", "s-1", "visitor:ab12")
CONV_CLAIM = {"env": "prod", "team": "support", "channel": "webchat", "session": "s-1", "user": "u"}


@pytest.fixture
def keys(tmp_path: Path) -> SigningKeyring:
    return SigningKeyring(tmp_path)


def _visitor(conversation: Conversation = CONV, team: str | None = "support") -> Claims:
    return Claims(
        "visitor:ab12",
        PrincipalKind.VISITOR,
        (Grant("acme", Role.VISITOR, team),),
        int(NOW.timestamp()),
        int(NOW.timestamp()) + 600,
        "0" * 32,
        conversation=conversation,
    )


def _raw(keys: SigningKeyring, **change: Any) -> str:
    payload: dict[str, Any] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "visitor:ab12",
        "kind": "visitor",
        "iat": int(NOW.timestamp()),
        "exp": int(NOW.timestamp()) + 600,
        "jti": "a" * 32,
        "grants": [{"tenant": "acme", "team": "support", "role": "visitor"}],
        "conv": CONV_CLAIM,
    }
    payload.update(change)
    active = keys.active()
    return jwt.encode(payload, active.private_key, algorithm="EdDSA", headers={"kid": active.kid})


def test_a_visitor_token_verifies_to_its_conversation(keys: SigningKeyring) -> None:
    claims = _visitor()
    verified = verify(sign(claims, keys.active()), keys, now=NOW, leeway=LEEWAY)
    assert verified == claims
    assert verified.principal().conversation == CONV
    teamless = _visitor(Conversation("prod", None, "webchat", "s-1", "u"), team=None)
    assert verify(sign(teamless, keys.active()), keys, now=NOW, leeway=LEEWAY) == teamless


@pytest.mark.parametrize(
    "change",
    [
        {"conv": None},
        {"conv": {**CONV_CLAIM, "session": "A.B"}},
        {"conv": {**CONV_CLAIM, "channel": "*"}},
        {"conv": {**CONV_CLAIM, "user": "a b"}},
        {"conv": {**CONV_CLAIM, "extra": 1}},
        {"conv": {k: v for k, v in CONV_CLAIM.items() if k != "env"}},
        {"conv": {**CONV_CLAIM, "team": "sales"}},  # not its grant's team
        {"grants": [{"tenant": "acme", "team": "support", "role": "team-admin"}]},
        {"grants": [{"tenant": "acme", "team": "support", "role": "visitor"}] * 2},
        {"grants": []},
        {"kind": "user"},  # a conversation on another kind of token
        {"kind": "user", "grants": [{"tenant": "acme", "team": "support", "role": "visitor"}]},
    ],
)
def test_a_bent_visitor_token_is_invalid(keys: SigningKeyring, change: dict[str, Any]) -> None:
    token = _raw(keys, **change)
    with pytest.raises(InvalidToken):
        verify(token, keys, now=NOW, leeway=LEEWAY)


def test_the_visitor_role_is_never_granted_or_issued() -> None:
    with pytest.raises(InvalidGrant):
        checked_grant("acme", "visitor", "support")
    with pytest.raises(InvalidGrant):
        grants_of(PrincipalKind.VISITOR, "acme", "support", Role.VIEWER)


def test_a_visitor_resolves_to_its_conversation_only() -> None:
    principal = _visitor().principal()
    found = resolution.resolve(principal, Selection())
    assert (found.role, found.ctx.tenant_id, found.ctx.env_id, found.ctx.team_id) == (
        Role.VISITOR,
        "acme",
        "prod",
        "support",
    )
    assert found.ctx.session_id == "s-1"
    named = resolution.resolve(principal, Selection("acme", "support", "prod"))
    assert named == found
    refusals = [
        (Selection(tenant="bigcorp"), TenantMismatch),
        (Selection(team="sales"), TeamMismatch),
        (Selection(env="staging"), EnvMismatch),
    ]
    for selection, error in refusals:
        with pytest.raises(error):
            resolution.resolve(principal, selection)
    teamless = _visitor(Conversation("prod", None, "webchat", "s-1", "u"), team=None).principal()
    with pytest.raises(TeamMismatch):
        resolution.resolve(teamless, Selection(team="support"))
