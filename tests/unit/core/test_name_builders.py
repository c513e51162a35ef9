"""Name builders: exact formats, round trips and injectivity, property-tested."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tenantry.core import names
from tenantry.core.errors import InvalidInput
from tenantry.core.names import Direction

SHORT = "-"
LONG = "_-"
_SEGMENT = st.text("abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=6)


@st.composite
def _joined(draw: st.DrawFn, separators: str, limit: int) -> str:
    """A valid id: segments joined by single separators, built directly (no regex search)."""
    parts = draw(st.lists(_SEGMENT, min_size=1, max_size=4))
    text = parts[0]
    for part in parts[1:]:
        text += draw(st.sampled_from(separators)) + part
    return text[:limit].rstrip(separators)


def ids_of(separators: str, limit: int) -> st.SearchStrategy[str]:
    return _joined(separators, limit)


tenants = ids_of(SHORT, 32).filter(lambda s: s != "global")
envs = ids_of(SHORT, 16)
teams = ids_of(SHORT, 32)
channels = ids_of(SHORT, 32)
sessions = ids_of(LONG, 64)
secrets = ids_of(LONG, 64)
anything = st.text(max_size=40) | st.sampled_from(["acme", "prod", "a-b", "global", "default"])


def test_exact_formats_from_the_specification() -> None:
    assert names.session_path("acme", "prod", "support", "session_001") == (
        "sessions/acme/prod/support/session_001.cbor"
    )
    assert names.state_key("acme", "prod", None, "s1") == "state:acme:prod:default:s1"
    assert names.subject(Direction.INGRESS, "acme", "prod", "support", "slack") == (
        "greentic.messaging.ingress.prod.acme.support.slack"
    )
    assert names.subject(Direction.EGRESS, "acme", "prod", None, "slack", prefix="x.y") == (
        "x.y.egress.prod.acme.default.slack"
    )
    assert names.secret_path("signing_key") == "global/signing_key"
    assert names.secret_path("openai_api_key", tenant="acme") == "acme/openai_api_key"
    assert names.secret_path("webhook_secret", tenant="acme", team="support") == (
        "acme/teams/support/webhook_secret"
    )
    assert names.sql_schema("big-corp", "prod") == "t_big_corp__prod"
    assert names.sql_database("acme", "staging") == "tenant_acme__staging"
    assert names.sql_role("acme", "prod") == "tr_acme__prod"
    assert names.stream_name("acme", "prod") == "tenantry_acme__prod"
    assert names.object_key("acme", "prod", "a/b.txt") == "tenants/acme/prod/a/b.txt"
    assert names.bucket_name("tenantry", "a-b", "c") == "tenantry-a-b--c"


PAIRS: list[tuple[Callable[[str, str], str], Callable[[str], Any]]] = [
    (names.sql_schema, names.parse_sql_schema),
    (names.sql_database, names.parse_sql_database),
    (names.sql_role, names.parse_sql_role),
    (names.stream_name, names.parse_stream_name),
    (
        lambda t, e: names.bucket_name("tenantry", t, e),
        lambda n: names.parse_bucket_name("tenantry", n),
    ),
]


@pytest.mark.parametrize(("build", "parse"), PAIRS)
@given(tenant=anything, env=anything)
def test_pair_names_fail_or_round_trip(
    build: Callable[[str, str], str], parse: Callable[[str], Any], tenant: str, env: str
) -> None:
    try:
        name = build(tenant, env)
    except InvalidInput:
        return
    assert parse(name) == (tenant, env)
    assert len(name.encode()) <= names.POSTGRES_NAME_LIMIT


@pytest.mark.parametrize(("build", "parse"), PAIRS)
@given(a=st.tuples(tenants, envs), b=st.tuples(tenants, envs))
def test_pair_names_are_injective(
    build: Callable[[str, str], str],
    parse: Callable[[str], Any],
    a: tuple[str, str],
    b: tuple[str, str],
) -> None:
    if a != b:
        assert build(*a) != build(*b)
    assert parse(build(*a)) == a


@given(tenant=tenants, env=envs)
def test_longest_sql_names_fit_postgres(tenant: str, env: str) -> None:
    for build in (names.sql_schema, names.sql_database, names.sql_role):
        assert len(build("t" * 32, "e" * 16).encode()) <= 63
        assert len(build(tenant, env).encode()) <= 63


def _team(team: str | None) -> str:
    return "default" if team is None else team


@given(tenant=anything, env=anything, team=st.none() | anything, session=anything)
def test_session_paths_and_state_keys_fail_or_round_trip(
    tenant: str, env: str, team: str | None, session: str
) -> None:
    for build, parse in (
        (names.session_path, names.parse_session_path),
        (names.state_key, names.parse_state_key),
    ):
        try:
            name = build(tenant, env, team, session)
        except InvalidInput:
            continue
        assert parse(name) == (tenant, env, _team(team), session)


ctx4 = st.tuples(tenants, envs, st.none() | teams, sessions)


@given(a=ctx4, b=ctx4)
def test_session_paths_and_state_keys_are_injective(
    a: tuple[str, str, str | None, str], b: tuple[str, str, str | None, str]
) -> None:
    same = (a[0], a[1], _team(a[2]), a[3]) == (b[0], b[1], _team(b[2]), b[3])
    for build in (names.session_path, names.state_key):
        assert (build(*a) == build(*b)) == same


subject_ids = st.tuples(
    st.sampled_from(list(Direction)), tenants, envs, st.none() | teams, channels
)


@given(a=subject_ids, b=subject_ids)
def test_subjects_are_injective_and_parse_back(
    a: tuple[Direction, str, str, str | None, str], b: tuple[Direction, str, str, str | None, str]
) -> None:
    built = names.subject(*a)
    assert len(built.split(".")) == 7
    assert names.parse_subject(built) == (a[0], a[1], a[2], _team(a[3]), a[4])
    same = (a[0], a[1], a[2], _team(a[3]), a[4]) == (b[0], b[1], b[2], _team(b[3]), b[4])
    assert (built == names.subject(*b)) == same


@given(tenant=anything, env=anything, team=st.none() | anything, channel=anything)
def test_subjects_fail_or_round_trip(tenant: str, env: str, team: str | None, channel: str) -> None:
    try:
        built = names.subject(Direction.INGRESS, tenant, env, team, channel)
    except InvalidInput:
        return
    assert names.parse_subject(built) == (Direction.INGRESS, tenant, env, _team(team), channel)


scopes = st.tuples(st.none() | tenants, st.none() | teams, secrets).filter(
    lambda s: not (s[0] is None and s[1] is not None)
)


@given(a=scopes, b=scopes)
def test_secret_paths_are_injective_and_parse_back(
    a: tuple[str | None, str | None, str], b: tuple[str | None, str | None, str]
) -> None:
    path = names.secret_path(a[2], tenant=a[0], team=a[1])
    assert names.parse_secret_path(path) == a
    assert (path == names.secret_path(b[2], tenant=b[0], team=b[1])) == (a == b)


def test_a_team_secret_needs_a_tenant() -> None:
    with pytest.raises(InvalidInput):
        names.secret_path("x", team="support")


@given(a=st.tuples(tenants, envs), b=st.tuples(tenants, envs))
def test_object_prefixes_never_nest(a: tuple[str, str], b: tuple[str, str]) -> None:
    pa, pb = names.object_prefix(*a), names.object_prefix(*b)
    assert (pa == pb) == (a == b)
    assert pa.startswith(pb) == (a == b)


@pytest.mark.parametrize(
    "key",
    [
        "",
        "..",
        "../x",
        "a/../b",
        "/abs",
        "a//b",
        "a/./b",
        "a/",
        "a\x00b",
        "a\\b",
        "a\nb",
        "x" * 1025,
        7,
    ],
)
def test_bad_relative_keys(key: Any) -> None:
    with pytest.raises(InvalidInput) as caught:
        names.object_key("acme", "prod", key)
    assert caught.value.code == "object_key.invalid"


@pytest.mark.parametrize(
    ("value", "parse"),
    [
        ("t_acme", names.parse_sql_schema),
        ("t_acme__prod__x", names.parse_sql_schema),
        ("t_ac-me__prod", names.parse_sql_schema),
        ("tr_acme__prod", names.parse_sql_schema),
        ("sessions/acme/prod/support/x.json", names.parse_session_path),
        ("sessions/acme/prod/../x.cbor", names.parse_session_path),
        ("state:acme:prod:default", names.parse_state_key),
        ("state:acme:prod:default:s:1", names.parse_state_key),
        ("greentic.messaging.ingress.prod.acme.support", names.parse_subject),
        ("greentic.messaging.sideways.prod.acme.support.slack", names.parse_subject),
        ("greentic.messaging.ingress.prod.acme.support.slack.x", names.parse_subject),
        ("other.prefix.ingress.prod.acme.support.slack", names.parse_subject),
        ("acme/teams/support", names.parse_secret_path),
        ("global/teams/x/y", names.parse_secret_path),
    ],
)
def test_parsers_refuse_what_no_builder_makes(value: str, parse: Callable[[str], Any]) -> None:
    with pytest.raises(names.UnparseableName):
        parse(value)


@pytest.mark.parametrize("prefix", ["greentic", "a.b.c", "A.b", "a..b", "a.*", ""])
def test_bad_subject_prefixes(prefix: str) -> None:
    with pytest.raises(InvalidInput):
        names.subject(Direction.INGRESS, "acme", "prod", None, "slack", prefix=prefix)


@pytest.mark.parametrize("prefix", ["", "a_b", "Tenantry", "x" * 13, "-a"])
def test_bad_bucket_prefixes(prefix: str) -> None:
    with pytest.raises(InvalidInput):
        names.bucket_name(prefix, "acme", "prod")
