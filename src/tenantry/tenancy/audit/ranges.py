"""Verifying a chain in ranges, purely: each range of links is checked on its own (in a worker
process), and the ranges are then stitched in ``seq`` order (docs/audit.md, "Verify").

Within a chain a link needs only its own record and its predecessor's stored hash, so a range
checks every link but its first's place, and the stitching checks each range's first link against
the previous range's last. This is a proof of soundness only: at the first doubt (any link the
range cannot vouch for, any seam that does not join) the chain is verified again the careful way,
link by link (:class:`~tenantry.tenancy.audit.verify.ChainVerifier`), which names the first bad
record exactly as it always has. An intact chain is never re-read.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Final

from tenantry.tenancy.audit import canonical
from tenantry.tenancy.audit.links import Link, backdated, link_hash

if TYPE_CHECKING:  # workers import this module: no signatures, no pydantic there
    from tenantry.tenancy.audit.verify import ChainVerifier

_TENANT: Final = canonical.TENANT_FIELD


@dataclass(frozen=True, slots=True)
class Span:
    """What a range vouches for: links ``first_seq`` to ``last_seq`` of ``chain``, each sound
    given its predecessor (``sound`` False: the range found something it cannot vouch for)."""

    chain: str
    sound: bool
    count: int = 0
    first_seq: int = 0
    first_prev: str = ""
    first_ts: str = ""
    last_seq: int = 0
    last_hash: str = ""
    last_ts: str = ""


class RangeVerifier:
    """Feed :meth:`check` consecutive links of one chain, then take :meth:`span`. The first link's
    predecessor is unknown here: its ``prev_hash`` is taken as given, for the stitching to check."""

    def __init__(self, chain: str, signed: Mapping[int, str], *, settle: timedelta) -> None:
        self.chain, self._signed, self._settle = chain, signed, settle
        self._tenant = None if chain == canonical.PLATFORM_CHAIN else chain
        self._count, self._sound = 0, True
        self._first: tuple[int, str, str] | None = None
        self._prev, self._seq, self._prev_ts = "", 0, ""

    def check(self, links: Iterable[Link]) -> bool:
        """Check ``links``; False once one cannot be vouched for (feed no more)."""
        if not self._sound:
            return False
        for seq, record_id, prev_hash, hash_, values, text in links:
            if self._first is None and values is not None:
                self._first = (seq, prev_hash, values[1])
                self._prev, self._seq = prev_hash, seq - 1
            sound = (
                values is not None
                and seq == self._seq + 1
                and prev_hash == self._prev
                and values[0] == record_id
                and values[_TENANT] == self._tenant
                and (values[1] >= self._prev_ts or not self._late(values[1]))
                and self._signed.get(seq, hash_) == hash_
                and link_hash(prev_hash, self.chain, seq, values, text) == hash_
            )
            if not sound:
                self._sound = False
                return False
            self._prev, self._seq, self._prev_ts = hash_, seq, values[1]  # type: ignore[index]
            self._count += 1
        return True

    def _late(self, ts: str) -> bool:
        return backdated(self._prev_ts, ts, self._settle)

    def span(self) -> Span | None:
        """What the range vouches for; None when it held no link."""
        if not self._sound:
            return Span(self.chain, sound=False)
        if self._first is None:
            return None
        seq, prev, ts = self._first
        return Span(
            self.chain, True, self._count, seq, prev, ts, self._seq, self._prev, self._prev_ts
        )


def stitch(verifier: ChainVerifier, spans: Sequence[Span], *, settle: timedelta) -> bool:
    """Join the ranges of ``verifier``'s chain, in ``seq`` order, into it, as if it had checked
    every link itself; False (and ``verifier`` untouched) at any doubt: verify it link by link."""
    if verifier.breach is not None or any(not span.sound for span in spans):
        return False
    before: Span | None = None
    for span in spans:
        if before is None:
            joins = span.first_prev == verifier.start_hash(span.first_seq)
        else:
            joins = (
                span.first_seq == before.last_seq + 1
                and span.first_prev == before.last_hash
                and not backdated(before.last_ts, span.first_ts, settle)
            )
        if not joins:
            return False
        before = span
    if before is not None:
        count = sum(span.count for span in spans)
        verifier.vouch(count, seq=before.last_seq, hash_=before.last_hash, ts=before.last_ts)
    return True
