"""Paged listings: one ``limit`` rule and opaque cursors for every list route.

A cursor wraps the store's own position (the last key of the page) with the listing it came
from, in URL-safe base64. Clients pass it back as they got it; a cursor of another listing (or
one edited by hand) is ``page.cursor_invalid``. The store checks the position again, so a forged
cursor can only move within the caller's own listing.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Annotated, Final, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel, Field

from tenantry.core.errors import InvalidInput
from tenantry.core.ids import show

MIN_LIMIT: Final = 1
MAX_LIMIT: Final = 1000
DEFAULT_LIMIT: Final = 100
CURSOR_LIMIT: Final = 4096  # characters
_VERSION: Final = 1
T = TypeVar("T")


class PageLimitInvalid(InvalidInput):
    code = "page.limit_invalid"


class PageCursorInvalid(InvalidInput):
    code = "page.cursor_invalid"


@dataclass(frozen=True, slots=True)
class PageRequest:
    limit: int
    cursor: str | None  # as the client sent it; :func:`position` opens it

    def position(self, listing: str) -> str | None:
        """The store position the cursor holds, checked to come from ``listing``."""
        return None if self.cursor is None else decode(self.cursor, listing)


class PageOut(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null on the last page. A page may "
        "hold fewer than `limit` items while this is set."
    )


def page_request(
    limit: Annotated[
        int,
        Query(
            description=f"Items per page, {MIN_LIMIT} to {MAX_LIMIT}.",
            json_schema_extra={"minimum": MIN_LIMIT, "maximum": MAX_LIMIT},
        ),
    ] = DEFAULT_LIMIT,
    cursor: Annotated[
        str | None,
        Query(
            description="The `next_cursor` of the previous page.",
            json_schema_extra={"maxLength": CURSOR_LIMIT},
        ),
    ] = None,
) -> PageRequest:
    if not MIN_LIMIT <= limit <= MAX_LIMIT:
        raise PageLimitInvalid(
            f"limit must be from {MIN_LIMIT} to {MAX_LIMIT}, not {limit}",
            details={"limit": limit},
        )
    return PageRequest(limit, cursor)


PageDep = Annotated[PageRequest, Depends(page_request)]


def encode(listing: str, position: str | None) -> str | None:
    """The cursor of ``position`` in ``listing`` (None stays None: the listing ended)."""
    if position is None:
        return None
    raw = json.dumps([_VERSION, listing, position], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def decode(cursor: str, listing: str) -> str:
    refused = PageCursorInvalid(
        f"cursor {show(cursor)} is not a cursor of this listing; "
        "pass back the next_cursor you were given"
    )
    if len(cursor) > CURSOR_LIMIT:
        raise refused
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        version, origin, position = json.loads(raw)
    except (binascii.Error, ValueError, TypeError, RecursionError):
        raise refused from None
    if version != _VERSION or origin != listing or not isinstance(position, str):
        raise refused
    return position
