"""The id grammar: every rule, every id kind, with safely escaped errors."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tenantry.core import ids
from tenantry.core.context import TenantCtx
from tenantry.core.errors import ErrorKind

SHORT: list[tuple[ids.IdKind, Callable[[object], str], int]] = [
    (ids.IdKind.TENANT, ids.tenant_id, 32),
    (ids.IdKind.TEAM, ids.team_id, 32),
    (ids.IdKind.CHANNEL, ids.channel_id, 32),
    (ids.IdKind.ENV, ids.env_id, 16),
]
LONG: list[tuple[ids.IdKind, Callable[[object], str], int]] = [
    (ids.IdKind.SESSION, ids.session_id, 64),
    (ids.IdKind.SECRET, ids.secret_name, 64),
    (ids.IdKind.FLOW, ids.flow_name, 64),
    (ids.IdKind.NODE, ids.node_id, 64),
]
ALL = SHORT + LONG

BAD_EVERYWHERE = {
    "dot": ("a.b", "charset"),
    "star": ("a*", "charset"),
    "gt": ("a>", "charset"),
    "space": ("a b", "charset"),
    "cr": ("a\rb", "charset"),
    "lf": ("a\nb", "charset"),
    "nul": ("a\x00b", "charset"),
    "slash": ("a/b", "charset"),
    "backslash": ("a\\b", "charset"),
    "dotdot": ("..", "charset"),
    "colon": ("a:b", "charset"),
    "brace": ("{a}", "charset"),
    "upper": ("Acme", "charset"),
    "cyrillic-a": ("\u0430cme", "charset"),
    "fullwidth": ("\uff41cme", "charset"),
    "dotless-i": ("\u0131d", "charset"),
    "leading-hyphen": ("-a", "separator"),
    "trailing-hyphen": ("a-", "separator"),
    "double-hyphen": ("a--b", "separator"),
    "empty": ("", "empty"),
}


@pytest.mark.parametrize(("kind", "check", "limit"), ALL, ids=lambda v: getattr(v, "name", ""))
@pytest.mark.parametrize("case", sorted(BAD_EVERYWHERE))
def test_bad_ids_are_rejected_with_their_rule(
    kind: ids.IdKind, check: Callable[[object], str], limit: int, case: str
) -> None:
    value, rule = BAD_EVERYWHERE[case]
    with pytest.raises(ids.InvalidId) as caught:
        check(value)
    error = caught.value
    assert error.rule == rule
    assert error.id_kind is kind
    assert error.kind is ErrorKind.INVALID and error.code == "id.invalid"
    assert kind.value in error.message
    assert error.message.isascii()
    assert not any(ch in error.message for ch in "\r\n\x00")


@pytest.mark.parametrize(("kind", "check", "limit"), ALL, ids=lambda v: getattr(v, "name", ""))
def test_length_limit_is_exact(
    kind: ids.IdKind, check: Callable[[object], str], limit: int
) -> None:
    assert check("a" * limit) == "a" * limit
    with pytest.raises(ids.InvalidId) as caught:
        check("a" * (limit + 1))
    assert caught.value.rule == "length"


@pytest.mark.parametrize(("kind", "check", "limit"), ALL, ids=lambda v: getattr(v, "name", ""))
@pytest.mark.parametrize("value", [None, 7, b"acme", ["acme"]])
def test_non_strings_are_rejected(
    kind: ids.IdKind, check: Callable[[object], str], limit: int, value: object
) -> None:
    with pytest.raises(ids.InvalidId) as caught:
        check(value)
    assert caught.value.rule == "type"


@pytest.mark.parametrize(("kind", "check", "limit"), SHORT, ids=lambda v: getattr(v, "name", ""))
def test_short_ids_refuse_underscores(
    kind: ids.IdKind, check: Callable[[object], str], limit: int
) -> None:
    assert check("big-corp-2") == "big-corp-2"
    with pytest.raises(ids.InvalidId):
        check("big_corp")


@pytest.mark.parametrize(("kind", "check", "limit"), LONG, ids=lambda v: getattr(v, "name", ""))
def test_long_ids_allow_single_underscores_and_hyphens(
    kind: ids.IdKind, check: Callable[[object], str], limit: int
) -> None:
    assert check("session_001-b") == "session_001-b"
    for bad in ("a__b", "a_-b", "_a", "a_"):
        with pytest.raises(ids.InvalidId) as caught:
            check(bad)
        assert caught.value.rule == "separator"


def test_global_is_a_reserved_tenant_id() -> None:
    with pytest.raises(ids.InvalidId) as caught:
        ids.tenant_id("global")
    assert caught.value.rule == "reserved"
    assert ids.team_id("global") == "global"


def test_message_shows_the_value_escaped_and_truncated() -> None:
    with pytest.raises(ids.InvalidId) as caught:
        ids.tenant_id("ac\nme")
    assert '"ac\\nme"' in caught.value.message
    assert "position 2" in caught.value.message
    shown = ids.show("x" * 500)
    assert shown.endswith('... (500 characters)"') and len(shown) < 100
    assert ids.show("\u0430") == '"\\u0430"'
    assert ids.show(42) == "<int>"


def test_context_validates_its_ids_and_defaults_the_team() -> None:
    ctx = TenantCtx(tenant_id=ids.TenantId("acme"), env_id=ids.EnvId("prod"))
    assert ctx.team == "default"
    assert ctx.log_fields() == {"tenant_id": "acme", "env": "prod", "team": "default"}
    with pytest.raises(ids.InvalidId):
        TenantCtx(tenant_id=ids.TenantId("ACME"), env_id=ids.EnvId("prod"))
    with pytest.raises(ids.InvalidId):
        TenantCtx(
            tenant_id=ids.TenantId("acme"),
            env_id=ids.EnvId("prod"),
            session_id=ids.SessionId("../x"),
        )


def _documented_accepts(kind: ids.IdKind, value: str) -> bool:
    """What a client reading the documented ``pattern`` and ``maxLength`` would send."""
    return re.fullmatch(ids.pattern(kind), value) is not None and len(value) <= ids.max_length(kind)


def _accepted(kind: ids.IdKind, value: str) -> bool:
    try:
        ids.check(kind, value)
    except ids.InvalidId:
        return False
    return True


SAMPLES = [
    *(value for value, _ in BAD_EVERYWHERE.values()),
    *("a" * n for n in (1, 16, 17, 32, 33, 64, 65)),
    *("a-" * n + "a" for n in (15, 16, 31, 32)),
    "acme",
    "global",
    "globals",
    "my-global",
    "a_b",
    "a__b",
    "_a",
    "a\n",
    "0-9",
]


@pytest.mark.parametrize(("kind", "check", "limit"), ALL, ids=lambda v: getattr(v, "name", ""))
def test_the_documented_pattern_accepts_exactly_the_valid_ids(
    kind: ids.IdKind, check: Callable[[object], str], limit: int
) -> None:
    assert ids.max_length(kind) == limit
    assert ids.pattern(kind).startswith("^") and ids.pattern(kind).endswith("$")
    for value in SAMPLES:
        assert _documented_accepts(kind, value) == _accepted(kind, value), value


@given(st.sampled_from([kind for kind, _, _ in ALL]), st.text(alphabet="ab-_.Z\n/0", max_size=70))
def test_the_documented_pattern_agrees_with_the_validator(kind: ids.IdKind, value: str) -> None:
    assert _documented_accepts(kind, value) == _accepted(kind, value)
