"""``If-Match`` and ``If-None-Match`` as a change's conditions (RFC 9110 sections 13.1.1,
13.1.2 and 13.2.2): strong comparison for If-Match, weak for If-None-Match, both must hold."""

from __future__ import annotations

import pytest

from tenantry.api.etags import PreconditionInvalid, conditions

TAG = "abc"  # the current ETag, unquoted as the stores give it


@pytest.mark.parametrize(
    ("if_match", "if_none_match", "current", "holds"),
    [
        (None, None, None, True),
        (None, None, TAG, True),
        ('"abc"', None, TAG, True),
        ('"x", "abc"', None, TAG, True),
        ('W/"abc"', None, TAG, False),  # a weak tag never matches an If-Match
        ('"x"', None, TAG, False),
        ('"abc"', None, None, False),
        ("*", None, TAG, True),
        ("*", None, None, False),
        (None, "*", None, True),
        (None, "*", TAG, False),
        (None, '"abc"', TAG, False),
        (None, 'W/"abc"', TAG, False),  # If-None-Match compares weakly
        (None, '"x"', TAG, True),
        (None, '"abc"', None, True),
        ('"abc"', '"x"', TAG, True),
        ('"abc"', '"abc"', TAG, False),
        ("*", "*", TAG, False),
    ],
)
def test_conditions(
    if_match: str | None, if_none_match: str | None, current: str | None, holds: bool
) -> None:
    assert conditions(if_match, if_none_match).holds(current) is holds


@pytest.mark.parametrize("value", ["", "abc", '"a', "W/", '"a" "b"', '"a",,', '"a"' + " " * 1100])
def test_malformed_headers_name_themselves(value: str) -> None:
    with pytest.raises(PreconditionInvalid, match=r"^If-None-Match "):
        conditions(None, value)
    with pytest.raises(PreconditionInvalid, match=r"^If-Match "):
        conditions(value)
