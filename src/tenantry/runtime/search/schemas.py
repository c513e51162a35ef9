"""Search documents, hits and paging, checked before anything reaches a backend.

Limits keep a document's ``tsvector`` well under PostgreSQL's 1 MB cap and a query cheap. NUL is
refused everywhere: PostgreSQL text cannot hold it, and a value one backend accepts and the other
rejects would make the backends disagree.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from tenantry.core import ids
from tenantry.core.errors import InvalidInput, TooLarge

DOC_ID_LIMIT: Final = 128
TITLE_LIMIT: Final = 1_000  # characters
BODY_LIMIT: Final = 131_072  # bytes of UTF-8
FIELDS_LIMIT: Final = 16_384  # bytes of JSON
QUERY_LIMIT: Final = 256  # characters
PAGE_LIMIT: Final = 100
OFFSET_LIMIT: Final = 10_000
SNIPPET_START: Final = "\u00ab"  # «
SNIPPET_END: Final = "\u00bb"  # »

_DOC_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]*")


class InvalidDocId(InvalidInput):
    code = "search.doc_id_invalid"


class InvalidDocument(InvalidInput):
    code = "search.document_invalid"


class DocumentTooLarge(TooLarge):
    code = "search.document_too_large"


class InvalidQuery(InvalidInput):
    code = "search.query_invalid"


class InvalidPage(InvalidInput):
    code = "search.page_invalid"


@dataclass(frozen=True, slots=True)
class Hit:
    doc_id: str
    title: str
    snippet: str  # a passage of the body, matched words between SNIPPET_START and SNIPPET_END
    rank: float  # higher is better; comparable within one result list only
    fields: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Document:
    doc_id: str
    title: str
    body: str
    fields_json: str  # a JSON object


@dataclass(frozen=True, slots=True)
class Page:
    limit: int
    offset: int


def doc_id(value: object) -> str:
    """Letters, digits and ``. _ : -``, starting with a letter or digit, 1 to 128 characters."""
    if not isinstance(value, str) or not 0 < len(value) <= DOC_ID_LIMIT:
        raise InvalidDocId(
            f"document id {ids.show(value)} must be a string of 1 to {DOC_ID_LIMIT} characters"
        )
    if _DOC_ID.fullmatch(value) is None or not value.isascii():
        raise InvalidDocId(
            f"document id {ids.show(value)} may hold only ASCII letters, digits and '._:-', "
            "starting with a letter or digit"
        )
    return value


def document(
    doc_id_: object, *, title: object, body: object, fields: Mapping[str, Any] | None
) -> Document:
    return Document(doc_id(doc_id_), _text("title", title), _body(body), _fields(fields))


def _text(what: str, value: object) -> str:
    if not isinstance(value, str):
        raise InvalidDocument(f"the {what} must be a string, not {type(value).__name__}")
    if "\x00" in value:
        raise InvalidDocument(f"the {what} must not contain NUL characters")
    if what == "title" and len(value) > TITLE_LIMIT:
        raise DocumentTooLarge(f"the title is {len(value)} characters, at most {TITLE_LIMIT}")
    return value


def _body(value: object) -> str:
    body = _text("body", value)
    size = len(body.encode("utf-8", "surrogatepass"))
    if size > BODY_LIMIT:
        raise DocumentTooLarge(f"the body is {size} bytes, at most {BODY_LIMIT}")
    return body


def _fields(value: Mapping[str, Any] | None) -> str:
    if value is None:
        return "{}"
    if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
        raise InvalidDocument("fields must be a mapping with string keys")
    try:
        encoded = json.dumps(dict(value), allow_nan=False, ensure_ascii=True, sort_keys=True)
    except (TypeError, ValueError, RecursionError) as error:
        raise InvalidDocument(f"fields must be plain JSON: {error}") from error
    if "\\u0000" in encoded:
        raise InvalidDocument("fields must not contain NUL characters")
    if len(encoded) > FIELDS_LIMIT:
        raise DocumentTooLarge(f"fields are {len(encoded)} bytes as JSON, at most {FIELDS_LIMIT}")
    return encoded


def query_text(value: object) -> str:
    """The query, stripped: non-empty, at most 256 characters, no NUL."""
    if not isinstance(value, str):
        raise InvalidQuery(f"the query must be a string, not {type(value).__name__}")
    stripped = value.strip()
    if not stripped:
        raise InvalidQuery("the query is empty")
    if len(stripped) > QUERY_LIMIT:
        raise InvalidQuery(f"the query is {len(stripped)} characters, at most {QUERY_LIMIT}")
    if "\x00" in stripped:
        raise InvalidQuery("the query must not contain NUL characters")
    return stripped


def page(limit: object, offset: object) -> Page:
    for name, value, top, bottom in (
        ("limit", limit, PAGE_LIMIT, 1),
        ("offset", offset, OFFSET_LIMIT, 0),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or not bottom <= value <= top:
            shown = value if isinstance(value, int) and abs(value) < 10**9 else type(value).__name__
            raise InvalidPage(f"{name} must be an integer from {bottom} to {top}, not {shown}")
    return Page(limit, offset)  # type: ignore[arg-type]  # both checked to be int above


def loaded_fields(value: object) -> dict[str, Any]:
    """Stored fields as a dict (PostgreSQL returns JSONB decoded, SQLite returns text)."""
    decoded = json.loads(value) if isinstance(value, str) else value
    return dict(decoded) if isinstance(decoded, dict) else {}
