"""``names.limit_key``: the exact format, bad input refused, injective (property-tested)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tenantry.core import names
from tenantry.core.errors import InvalidInput
from tests.unit.core.test_name_builders import anything, tenants

classes = st.sampled_from(["default", "authoring", "a", "x-y", "long-class-name"])


def test_the_format() -> None:
    assert names.limit_key("acme", "default") == "limit:acme:default"
    assert names.limit_key("big-corp", "authoring") == "limit:big-corp:authoring"


@pytest.mark.parametrize(
    ("tenant", "route_class", "code"),
    [
        ("ACME", "default", "id.invalid"),
        ("a:b", "default", "id.invalid"),
        ("global", "default", "id.invalid"),
        ("acme", "Default", "route_class.invalid"),
        ("acme", "a:b", "route_class.invalid"),
        ("acme", "", "route_class.invalid"),
        ("acme", "a--b", "route_class.invalid"),
        ("acme", "x" * 33, "route_class.invalid"),
        ("acme", "*", "route_class.invalid"),
    ],
)
def test_bad_parts_are_refused(tenant: str, route_class: str, code: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        names.limit_key(tenant, route_class)
    assert caught.value.code == code


@given(a=tenants, b=tenants, x=classes, y=classes)
def test_distinct_inputs_give_distinct_keys(a: str, b: str, x: str, y: str) -> None:
    assert (names.limit_key(a, x) == names.limit_key(b, y)) == ((a, x) == (b, y))


@given(tenant=tenants, route_class=classes)
def test_keys_split_back_into_their_parts(tenant: str, route_class: str) -> None:
    prefix, got_tenant, got_class = names.limit_key(tenant, route_class).split(":")
    assert (prefix, got_tenant, got_class) == ("limit", tenant, route_class)


@given(tenant=anything, route_class=anything)
def test_anything_else_is_refused_or_well_formed(tenant: str, route_class: str) -> None:
    try:
        key = names.limit_key(tenant, route_class)
    except InvalidInput:
        return
    assert key.count(":") == 2 and key.startswith("limit:")
