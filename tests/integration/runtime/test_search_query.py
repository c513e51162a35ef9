"""The web-search query parser: only words survive, the normal form is stable, and whatever the
input, the FTS5 expression it renders is valid FTS5."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tenantry.backends.sqlite.search import fts5
from tenantry.runtime.search import parse
from tenantry.runtime.search.query import Alternative, Query


@pytest.mark.parametrize(
    ("text", "websearch"),
    [
        ("reset password", '"reset" "password"'),
        ('"reset password" now', '"reset password" "now"'),
        ("a or b", '"a" or "b"'),
        ("a OR b -c", '"a" or "b" -"c"'),
        ('a -"b c"', '"a" -"b c"'),
        ("-only", ""),
        ("a or -b", '"a"'),
        ("or or a or", '"a"'),
        ("* OR 1=1", '"1 1"'),
        ("tenant_id:bigcorp", '"tenant id bigcorp"'),
        ('"unterminated phrase', '"unterminated phrase"'),
        ("NEAR(a b) title:x ^y z*", '"NEAR a" "b" "title x" "y" "z"'),
        ('"""', ""),
    ],
)
def test_queries_parse_to_words(text: str, websearch: str) -> None:
    assert parse(text).websearch() == websearch


def test_structure() -> None:
    assert parse("a b -c or d") == Query(
        (Alternative((("a",), ("b",)), (("c",),)), Alternative((("d",),), ()))
    )


@pytest.fixture(scope="module")
def fts() -> Iterator[sqlite3.Connection]:
    db = sqlite3.connect(":memory:")
    db.execute("CREATE VIRTUAL TABLE f USING fts5(title, body)")
    db.execute("INSERT INTO f VALUES ('hello world', 'x')")
    yield db
    db.close()


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=60))
def test_any_input_renders_valid_fts5_and_a_stable_normal_form(
    fts: sqlite3.Connection, text: str
) -> None:
    query = parse(text)
    assert parse(query.websearch()) == query
    if not query.empty:
        fts.execute("SELECT rowid FROM f WHERE f MATCH ?", (fts5(query),)).fetchall()


@settings(max_examples=200, deadline=None)
@given(
    words=st.lists(
        st.sampled_from(
            [
                '"',
                "*",
                "OR",
                "NOT",
                "AND",
                "NEAR",
                "(",
                ")",
                ":",
                "^",
                "-",
                "title:",
                "{",
                "}",
                "hello",
                "world",
            ]
        ),
        max_size=12,
    )
)
def test_fts5_syntax_in_input_is_only_words(fts: sqlite3.Connection, words: list[str]) -> None:
    query = parse(" ".join(words))
    if not query.empty:
        rows = fts.execute("SELECT rowid FROM f WHERE f MATCH ?", (fts5(query),)).fetchall()
        assert rows in ([], [(1,)])
