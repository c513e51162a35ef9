"""ETags from record revisions, and ``If-Match`` (RFC 9110 section 13.1.1) against them.

A record's ETag is its revision, quoted: ``"3"``. ``If-Match`` holds ``*`` or a list of entity
tags; a tag matches when it is strong and equal (weak tags never match an If-Match). A request
that must say which revision it changes and does not is ``precondition.required`` (428); one
whose tags do not match the current revision is ``precondition.failed`` (412), and so is a
change that loses a race after the check (the store's conditional write).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Final

from fastapi import Header

from tenantry.core.errors import Conflict, InvalidInput
from tenantry.core.ids import show

HEADER_LIMIT: Final = 1024
_TAG = re.compile(r'[ \t]*((?:W/)?"[\x21\x23-\x7e]*")[ \t]*(?:,|$)')


class PreconditionFailed(Conflict):
    code = "precondition.failed"


class PreconditionRequired(InvalidInput):
    code = "precondition.required"


class PreconditionInvalid(InvalidInput):
    code = "precondition.invalid"


@dataclass(frozen=True, slots=True)
class IfMatch:
    any: bool
    tags: frozenset[str]  # as sent, quotes and any W/ included

    def matches(self, revision: int) -> bool:
        return self.any or etag(revision) in self.tags


IfMatchHeader = Annotated[
    str | None,
    Header(
        alias="If-Match",
        description='The ETag read (e.g. `"3"`), or `*`: the change applies only if the '
        "record is still at that revision.",
    ),
]


def etag(revision: int) -> str:
    return f'"{revision}"'


def parse(header: str) -> IfMatch:
    """``*`` or a comma-separated list of entity tags; anything else is refused."""
    if header.strip() == "*":
        return IfMatch(any=True, tags=frozenset())
    tags: set[str] = set()
    position = 0
    while len(header) <= HEADER_LIMIT and position < len(header):
        found = _TAG.match(header, position)
        if found is None:
            break
        tags.add(found.group(1))
        position = found.end()
    if not tags or position != len(header):
        raise PreconditionInvalid(
            f'If-Match {show(header)} is not * or a list of quoted entity tags like "3"'
        )
    return IfMatch(any=False, tags=frozenset(tags))


def required(header: str | None) -> IfMatch:
    """The parsed header of a change that must name the revision it replaces."""
    if header is None:
        raise PreconditionRequired(
            "send If-Match with the ETag you read, so a concurrent change is not overwritten"
        )
    return parse(header)


def matched(if_match: IfMatch, revision: int) -> int:
    """``revision`` when the header matches it; :class:`PreconditionFailed` otherwise."""
    if not if_match.matches(revision):
        raise PreconditionFailed(
            f"the record is at ETag {etag(revision)}, which If-Match does not name; "
            "read it again and retry",
            details={"etag": etag(revision)},
        )
    return revision
