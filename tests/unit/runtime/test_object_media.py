"""Object media types: what is taken and how it is normalised, what is refused, and which types
are served in place."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tenantry.runtime.objects.errors import ContentTypeInvalid
from tenantry.runtime.objects.media import MAX_LENGTH, OCTETS, checked, inline

TAKEN = [
    (None, OCTETS),
    ("application/octet-stream", OCTETS),
    ("  text/plain  ", "text/plain"),
    ("TEXT/HTML;CHARSET=utf-8", "text/html; charset=utf-8"),
    ("multipart/form-data; boundary=AbC", "multipart/form-data; boundary=AbC"),
    ('text/plain;  x="a;b=c"; y=z', 'text/plain; x="a;b=c"; y=z'),
    ('text/plain; x=""', 'text/plain; x=""'),
    ("application/vnd.ms-excel", "application/vnd.ms-excel"),
    ("x-custom/x.y+z", "x-custom/x.y+z"),
    ("a" * 127 + "/b", "a" * 127 + "/b"),
]
REFUSED = [
    "",
    " ",
    "text",
    "text/",
    "/plain",
    "*/*",
    "image/*",
    ".a/b",
    "a/b/c",
    "text/plain;",
    "text/plain; ;a=b",
    "text/plain; a",
    "text/plain; a=",
    "text/plain; a=b c",
    "text/plain; a=1; A=1",
    'text/plain; a="b',
    'text/plain; a="\\\u00e9"',
    "text/plain, text/html",
    "text/plain\t",
    "text/plain\r\n",
    "text/\x00plain",
    "text/plain; a=\x7f",
    "t\u00e9xt/plain",
    "a" * 128 + "/b",
    "a/" + "b" * (MAX_LENGTH - 1),
    "text/plain;a=" + "b" * (MAX_LENGTH - 13),  # fits as sent, not once normalised
]


@pytest.mark.parametrize(("sent", "kept"), TAKEN)
def test_taken_and_normalised(sent: str | None, kept: str) -> None:
    assert checked(sent) == kept
    assert checked(kept) == kept


@pytest.mark.parametrize("sent", REFUSED)
def test_refused(sent: str) -> None:
    with pytest.raises(ContentTypeInvalid) as caught:
        checked(sent)
    assert caught.value.code == "object.content_type_invalid"


def test_refused_not_a_string() -> None:
    with pytest.raises(ContentTypeInvalid):
        checked(b"text/plain")  # type: ignore[arg-type]


@given(st.text(max_size=300))
def test_anything_is_refused_or_a_short_printable_fixed_point(sent: str) -> None:
    try:
        kept = checked(sent)
    except ContentTypeInvalid:
        return
    assert len(kept) <= MAX_LENGTH
    assert re.fullmatch(r"[\x20-\x7e]+", kept)
    assert checked(kept) == kept


@pytest.mark.parametrize(
    ("content_type", "shown"),
    [
        ("image/png", True),
        ("image/jpeg", True),
        ("audio/ogg", True),
        ("video/mp4; codecs=avc1", True),
        ("text/plain; charset=utf-8", True),
        ("text/csv", True),
        ("application/json", True),
        (OCTETS, True),
        ("image/svg+xml", False),
        ("text/html", False),
        ("application/xhtml+xml", False),
        ("text/xml", False),
        ("application/xml", False),
        ("application/rss+xml", False),
        ("image/x-xml-thing", False),
        ("text/javascript", False),
        ("application/javascript", False),
        ("application/pdf", False),
        ("text/markdown", False),
        ("application/vnd.ms-htmlhelp", False),
        ("multipart/x-mixed-replace; boundary=x", False),
        ("application/problem+json", False),
    ],
)
def test_only_passive_media_and_plain_data_are_shown_in_place(
    content_type: str, shown: bool
) -> None:
    assert inline(content_type) is shown
