"""Archive names: the tenant's area, sortable archive ids and file keys that round-trip."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tenantry.core import names
from tenantry.core.errors import InvalidInput
from tests.unit.core.test_name_builders import tenants

_FILES = st.sampled_from(
    ["manifest.json", "prod/objects/000001", "dev/relational/000002", "secrets/000001"]
)
_TOKENS = st.text("0123456789abcdef", min_size=8, max_size=8)
_MOMENTS = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2999, 12, 31), timezones=st.just(UTC)
)


def test_exact_formats() -> None:
    moment = datetime(2026, 12, 6, 2, 46, 36, tzinfo=UTC)
    made = names.archive_id(moment, "0123abcd")
    assert made == "20261206t024636z-0123abcd"
    assert names.archive_prefix("acme") == "archive/acme/"
    assert names.archive_key(made, "prod/objects/000001") == f"{made}/prod/objects/000001"


def test_an_archive_id_is_in_utc_whatever_the_moment_s_zone() -> None:
    moment = datetime(2026, 12, 6, 3, 0, tzinfo=timezone(timedelta(hours=1)))
    assert names.archive_id(moment, "00000000").startswith("20261206t020000z")


@given(_MOMENTS, _MOMENTS, _TOKENS)
def test_archive_ids_sort_as_their_moments(first: datetime, second: datetime, token: str) -> None:
    a, b = names.archive_id(first, token), names.archive_id(second, token)
    if first.replace(microsecond=0) < second.replace(microsecond=0):
        assert a < b


@given(_MOMENTS, _TOKENS, _FILES)
def test_a_file_key_round_trips(moment: datetime, token: str, file: str) -> None:
    archive = names.archive_id(moment, token)
    assert names.parse_archive_key(names.archive_key(archive, file)) == (archive, file)


@given(tenants, tenants)
def test_archive_areas_of_two_tenants_never_overlap(tenant: str, other: str) -> None:
    if tenant != other:
        assert not names.archive_prefix(tenant).startswith(names.archive_prefix(other))


@pytest.mark.parametrize(
    "file", ["", "../x", "a/../b", "/abs", "UPPER", "a//b", "a/b/c/d/e", ".hidden", "a\x00b"]
)
def test_bad_file_names_are_refused(file: str) -> None:
    with pytest.raises(InvalidInput):
        names.archive_key("20261206t024636z-0123abcd", file)


@pytest.mark.parametrize("archive", ["", "latest", "20261206T024636Z-0123abcd", "x/y", None])
def test_bad_archive_ids_are_refused(archive: object) -> None:
    with pytest.raises(InvalidInput):
        names.check_archive_id(archive)
    with pytest.raises(names.UnparseableName):
        names.parse_archive_key(f"{archive}/manifest.json")


def test_a_bad_token_is_refused() -> None:
    with pytest.raises(InvalidInput):
        names.archive_id(datetime(2026, 1, 1, tzinfo=UTC), "XYZ")
