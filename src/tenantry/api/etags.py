"""ETags, and ``If-Match`` / ``If-None-Match`` (RFC 9110 sections 13.1.1, 13.1.2) against them.

An ETag is a record's revision (a session: ``"3"``) or another opaque version (an object),
quoted. Both headers hold ``*`` or a list of entity tags. In ``If-Match`` a tag matches when it
is strong and equal (weak tags never match); in ``If-None-Match`` the weak comparison applies
(``W/"x"`` names ``"x"`` too). A request that must say which revision it changes and does not is
``precondition.required`` (428); one whose tags do not match the current revision is
``precondition.failed`` (412), and so is a change that loses a race after the check (the store's
conditional write).
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
    """The value of an ``If-Match`` or ``If-None-Match`` header."""

    any: bool
    tags: frozenset[str]  # as sent, quotes and any W/ included

    def matches(self, revision: int | str) -> bool:
        """The strong comparison (``If-Match``)."""
        return self.any or etag(revision) in self.tags

    def matches_weakly(self, revision: int | str) -> bool:
        """The weak comparison (``If-None-Match``)."""
        return self.matches(revision) or f"W/{etag(revision)}" in self.tags


@dataclass(frozen=True, slots=True)
class Conditions:
    """A change's ``If-Match`` and ``If-None-Match``, for a store to evaluate against the
    current ETag under its conditional write (see :meth:`holds`)."""

    if_match: IfMatch | None = None
    if_none_match: IfMatch | None = None

    def holds(self, current: str | None) -> bool:
        """Whether the change may go ahead over the record at ETag ``current`` (None: there is
        none). Both must hold, as RFC 9110 section 13.2.2 evaluates them for a change."""
        if self.if_match is not None and (current is None or not self.if_match.matches(current)):
            return False
        none_match = self.if_none_match
        return none_match is None or current is None or not none_match.matches_weakly(current)


IfMatchHeader = Annotated[
    str | None,
    Header(
        alias="If-Match",
        description='The ETag read (e.g. `"3"`), or `*`: the change applies only if the '
        "record is still at that revision.",
    ),
]


def etag(revision: int | str) -> str:
    return f'"{revision}"'


def parse(header: str, *, name: str = "If-Match") -> IfMatch:
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
            f'{name} {show(header)} is not * or a list of quoted entity tags like "3"'
        )
    return IfMatch(any=False, tags=frozenset(tags))


def conditions(if_match: str | None, if_none_match: str | None = None) -> Conditions:
    """The parsed headers of a change whose preconditions are optional."""
    return Conditions(
        None if if_match is None else parse(if_match),
        None if if_none_match is None else parse(if_none_match, name="If-None-Match"),
    )


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
