"""A chain's link as the verifiers read it, and the two checks on it that need no state: its
hash, and whether its record is backdated. Light on purpose: every verifying worker imports it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from tenantry.tenancy.audit import canonical

# (seq, record id, prev hash, hash, canonical record values or None when the record is gone,
# and the record's canonical form when it is known as text: an export holds it)
Link = tuple[int, int, str, str, Sequence[Any] | None, str | None]


def link_hash(prev: str, chain: str, seq: int, values: Sequence[Any], text: str | None) -> str:
    if text is None:
        return canonical.link_hash(prev, chain, seq, values)
    return canonical.body_hash(prev, chain, seq, text)


def backdated(prev_ts: str, ts: str, settle: timedelta) -> bool:
    """A record older than its predecessor by more than the settle window was inserted
    afterwards: a late commit is never that late."""
    if ts >= prev_ts:
        return False
    gap = datetime.fromisoformat(prev_ts) - datetime.fromisoformat(ts)
    return gap > settle
