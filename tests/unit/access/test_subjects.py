"""Token subjects: the built-in principals are reserved, at issuing and at verification."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tenantry.backends.keys.signing import SigningKeyring
from tenantry.tenancy.access.errors import InvalidPrincipal, InvalidToken, ReservedPrincipal
from tenantry.tenancy.access.schemas import Grant, PrincipalKind, Role, token_subject
from tenantry.tenancy.access.signing import Claims, sign, verify

NOW = datetime(2031, 5, 1, 12, tzinfo=UTC)
BUILTIN = [
    "admin-token",
    "operator",
    "OPERATOR",
    "Admin-Token",
    "apikey:0123456789abcdef",
    "APIKEY:",
]


@pytest.mark.parametrize("subject", ["alice", "ci@acme", "operators", "apikeys", "op:erator"])
def test_ordinary_subjects(subject: str) -> None:
    assert token_subject(subject) == subject == token_subject(subject, cli=True)


@pytest.mark.parametrize("subject", BUILTIN)
def test_built_in_subjects_are_reserved_for_everyone(subject: str) -> None:
    for cli in (False, True):
        with pytest.raises(ReservedPrincipal) as refused:
            token_subject(subject, cli=cli)
        assert refused.value.code == "principal.reserved" and subject in refused.value.message


def test_cli_subjects_are_the_command_lines() -> None:
    assert token_subject("cli:ann", cli=True) == "cli:ann"
    for subject in ("cli:ann", "CLI:ann"):
        with pytest.raises(ReservedPrincipal):
            token_subject(subject)


def test_a_malformed_subject_is_still_invalid_first() -> None:
    with pytest.raises(InvalidPrincipal):
        token_subject("operator ")


@pytest.mark.parametrize("subject", [*BUILTIN[:3], "apikey:0123456789abcdef"])
def test_a_token_naming_a_built_in_principal_does_not_verify(tmp_path: Path, subject: str) -> None:
    keys = SigningKeyring(tmp_path)
    start = int(NOW.timestamp())
    grants = (Grant("acme", Role.VIEWER),)
    claims = Claims(subject, PrincipalKind.USER, grants, start, start + 60, "0" * 32)
    with pytest.raises(InvalidToken):
        verify(sign(claims, keys.active()), keys, now=NOW, leeway=timedelta(seconds=30))
    ok = Claims("cli:ann", PrincipalKind.USER, grants, start, start + 60, "0" * 32)
    assert verify(sign(ok, keys.active()), keys, now=NOW, leeway=timedelta(0)) == ok
