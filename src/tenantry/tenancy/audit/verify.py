"""Verifying one chain, purely: fed its links in ``seq`` order (from the database or an export),
it recomputes every hash, checks every checkpoint's signature and hash, and stops at the first
bad link (docs/audit.md, "Verify")."""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from tenantry.tenancy.audit import canonical
from tenantry.tenancy.audit.links import Link, backdated, link_hash
from tenantry.tenancy.audit.ports import PublicKeyInfo
from tenantry.tenancy.audit.schemas import Breach, ChainReport

PRUNE: Final = "prune"  # a checkpoint behind which the older links were removed
INTERVAL: Final = "interval"
_TENANT: Final = canonical.TENANT_FIELD


@dataclass(frozen=True, slots=True)
class Checkpoint:
    chain: str
    seq: int
    hash: str
    ts: str
    kind: str
    kid: str
    signature: str

    def message(self) -> bytes:
        return canonical.checkpoint_message(
            self.chain, self.seq, self.hash, ts=self.ts, kind=self.kind, kid=self.kid
        )


class ChainVerifier:
    """Feed :meth:`check` batches of links in ``seq`` order, then :meth:`report`."""

    def __init__(
        self,
        chain: str,
        checkpoints: Sequence[Checkpoint],
        keys: Mapping[str, Ed25519PublicKey],
        *,
        settle: timedelta,
    ) -> None:
        self.chain, self._settle = chain, settle
        self.tenant = None if chain == canonical.PLATFORM_CHAIN else chain
        self._signed = {c.seq: c for c in checkpoints}
        prunes = [c for c in checkpoints if c.kind == PRUNE]
        self._anchor = max(prunes, key=lambda c: c.seq) if prunes else None
        self._last = max((c.seq for c in checkpoints), default=0)
        self._checked = len(checkpoints)
        self._prev: str | None = None
        self._prev_ts = ""
        self._seq = 0
        self._verified = 0
        self.breach = _bad_signature(chain, checkpoints, keys)

    def check(self, links: Iterable[Link]) -> bool:
        """Verify ``links``; False once a breach is found (feed no more)."""
        if self.breach is not None:
            return False
        for link in links:
            if not self._sound(link):  # the rare cases, and every fault, the careful way
                self.breach = self._link(link)
                if self.breach is not None:
                    return False
            self._verified += 1
        return True

    def _sound(self, link: Link) -> bool:
        """The common case in one expression (verification reads every record): the next seq,
        following its predecessor, of this chain, matching its hash, not signed, not older."""
        seq, record_id, prev_hash, hash_, values, text = link
        sound = (
            values is not None
            and seq == self._seq + 1
            and prev_hash == self._prev
            and values[0] == record_id
            and values[_TENANT] == self.tenant
            and values[1] >= self._prev_ts
            and seq not in self._signed
            and link_hash(prev_hash, self.chain, seq, values, text) == hash_
        )
        if sound:
            self._prev, self._seq, self._prev_ts = hash_, seq, values[1]  # type: ignore[index]
        return sound

    def start_hash(self, seq: int) -> str | None:
        """The ``prev_hash`` the chain's first link present must hold when it is at ``seq``
        (None: no first link may be there)."""
        start = self._start(seq)
        return None if isinstance(start, Breach) else start

    def vouch(self, count: int, *, seq: int, hash_: str, ts: str) -> None:
        """Take ``count`` links up to ``seq`` as checked (:func:`ranges.stitch` did)."""
        self._prev, self._seq, self._prev_ts = hash_, seq, ts
        self._verified += count

    def report(self, *, pending: int = 0) -> ChainReport:
        if self._prev is None and self._anchor is not None:
            self._seq = self._anchor.seq  # every link was pruned: nothing is missing
        if self.breach is None and self._last > self._seq:
            self.breach = Breach(
                self.chain,
                self._seq + 1,
                None,
                f"truncated: the chain ends at seq {self._seq} but a signed checkpoint covers"
                f" seq {self._last}",
            )
        return ChainReport(
            self.chain, self._verified, self._seq, self._checked, pending, self.breach
        )

    def _link(self, link: Link) -> Breach | None:
        seq, record_id, _, hash_, values, _ = link
        if self._prev is None:
            start = self._start(seq)
            if isinstance(start, Breach):
                return start
            self._prev, self._seq = start, seq - 1
        reason = self._fault(link)
        if reason is not None:
            return Breach(self.chain, seq, record_id, reason)
        self._prev, self._seq = hash_, seq
        self._prev_ts = values[1] if values is not None else self._prev_ts  # never None here
        return None

    def _fault(self, link: Link) -> str | None:
        """What is wrong with the next link, if anything (the first check that fails)."""
        seq, record_id, prev_hash, hash_, values, text = link
        signed = self._signed.get(seq)
        reason = None
        if seq != self._seq + 1:
            reason = f"seq {self._seq + 1} is missing (a link was removed)"
        elif values is None:
            reason = f"record {record_id} is missing (deleted)"
        elif prev_hash != self._prev:
            reason = "the link does not follow its predecessor"
        elif values[0] != record_id or canonical.chain_of(values[_TENANT]) != self.chain:
            reason = "the link names another record"
        elif link_hash(prev_hash, self.chain, seq, values, text) != hash_:
            reason = f"record {record_id} does not match its hash (edited)"
        elif self._backdated(values[1]):
            reason = f"record {record_id} is backdated (inserted)"
        elif signed is not None and signed.hash != hash_:
            reason = "the link does not match its signed checkpoint"
        return reason

    def _start(self, seq: int) -> str | Breach:
        """The hash the first link present must follow: the genesis, or a prune's anchor."""
        if seq == 1:
            return canonical.GENESIS
        if self._anchor is not None and seq == self._anchor.seq + 1:
            return self._anchor.hash
        after = 0 if self._anchor is None else self._anchor.seq
        return Breach(self.chain, after + 1, None, f"seq {after + 1} is missing (removed)")

    def _backdated(self, ts: str) -> bool:
        return backdated(self._prev_ts, ts, self._settle)


def _bad_signature(
    chain: str, checkpoints: Sequence[Checkpoint], keys: Mapping[str, Ed25519PublicKey]
) -> Breach | None:
    for checkpoint in sorted(checkpoints, key=lambda c: c.seq):
        key = keys.get(checkpoint.kid)
        try:
            if key is None:
                raise InvalidSignature
            key.verify(base64.b64decode(checkpoint.signature), checkpoint.message())
        except (InvalidSignature, ValueError):
            reason = f"the checkpoint at seq {checkpoint.seq} has no valid signature"
            return Breach(chain, checkpoint.seq, None, reason)
    return None


def public_keys(history: Sequence[PublicKeyInfo]) -> dict[str, Ed25519PublicKey]:
    """The checkpoint keys by id, from their exported history."""
    return {k.kid: Ed25519PublicKey.from_public_bytes(base64.b64decode(k.public)) for k in history}
