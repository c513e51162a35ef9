"""Which event types an endpoint receives: exact types and ``prefix.*`` patterns (pure)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Final

from tenantry.tenancy.events.schemas import EventType
from tenantry.tenancy.webhooks.errors import BadFilter

MAX_FILTERS: Final = 32
WILDCARD: Final = "*"  # every type
_KNOWN: Final = frozenset(t.value for t in EventType)


def checked(filters: Iterable[str]) -> list[str]:
    """The filters, deduplicated in order; :class:`BadFilter` for one matching no known type.

    A filter naming no type would never match: that is a typo, refused rather than kept."""
    found: list[str] = []
    for given in filters:
        if given not in found:
            found.append(_one(given))
    if len(found) > MAX_FILTERS:
        raise BadFilter(f"at most {MAX_FILTERS} filters, not {len(found)}")
    return found or [WILDCARD]


def _one(given: str) -> str:
    if given == WILDCARD or given in _KNOWN:
        return given
    if given.endswith(".*") and any(t.startswith(given[:-1]) for t in _KNOWN):
        return given
    raise BadFilter(
        f"unknown event type filter {given[:80]!r}: an event type, a prefix ending in '.*' "
        "or '*' (see docs/webhooks.md)",
        details={"filter": given[:80]},
    )


def matches(filters: Sequence[str], event_type: str) -> bool:
    """Whether an endpoint with ``filters`` receives an event of ``event_type``."""
    for pattern in filters:
        if pattern in (WILDCARD, event_type):
            return True
        if pattern.endswith(".*") and event_type.startswith(pattern[:-1]):
            return True
    return False
