"""The sequencer: links committed records into their chains, then signs checkpoints.

Writers only insert into ``audit_records``; the sequencer appends to ``audit_chain`` (and
``audit_checkpoints``) in a transaction of its own, so nothing is ever updated and the write path
pays nothing for the chain. A record joins its chain in the order the sequencer sees it
committed (docs/audit.md, "Chain design").
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tenantry.tenancy.audit import canonical, repository
from tenantry.tenancy.audit.ports import AuditKeys
from tenantry.tenancy.audit.verify import INTERVAL, Checkpoint
from tenantry.tenancy.registry.errors import translated

_TENANT = canonical.TENANT_FIELD
_ATTEMPTS = 5  # a race with another sequencer (SQLite) is retried this often


@dataclass(frozen=True, slots=True)
class Cadence:
    """When the sequencer signs a checkpoint, and how it reads."""

    checkpoint_records: int = 1000  # after this many new links of a chain
    checkpoint_seconds: float = 300.0  # or when a chain's newest link is this old unsigned
    batch: int = 5000  # records linked per transaction
    lookback: int = 10_000  # ids below the newest linked one still searched (late commits)
    settle_seconds: float = 300.0  # a record this much older than its predecessor is backdated

    @property
    def settle(self) -> timedelta:
        return timedelta(seconds=self.settle_seconds)


class Sequencer:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        keys: AuditKeys,
        *,
        clock: Callable[[], datetime],
        cadence: Cadence,
    ) -> None:
        self._sessions, self._keys, self._clock, self._cadence = sessions, keys, clock, cadence

    async def run(self, *, full: bool = False) -> int:
        """Link every committed record not linked yet; the number linked. ``full`` searches
        every id (verify and export do), not only the recent ones."""
        total, after = 0, None if not full else 0
        while True:
            async with translated():
                linked, after = await self._retried(after)
            total += linked
            if linked < self._cadence.batch:
                return total

    async def _retried(self, after: int | None) -> tuple[int, int]:
        for attempt in range(_ATTEMPTS):
            try:
                return await self._once(after)
            except (IntegrityError, OperationalError):
                if attempt == _ATTEMPTS - 1:
                    raise
                await asyncio.sleep(0.05 * (attempt + 1))
        return 0, after or 0

    async def _once(self, after: int | None) -> tuple[int, int]:
        """One batch above id ``after`` (None: the newest linked id less the lookback); the
        number linked and the id the next batch starts after, so a run never rescans."""
        async with self._sessions() as session, session.begin():
            await repository.lock_sequencing(session)
            if after is None:
                after = max(0, await repository.newest_chained(session) - self._cadence.lookback)
            rows = await repository.unchained(session, after=after, limit=self._cadence.batch)
            if rows:
                touched = await self._link(session, rows)
                await self._sign_due(session, touched)
            return len(rows), (rows[-1][0] if rows else after)

    async def _link(
        self, session: AsyncSession, rows: Sequence[Sequence[Any]]
    ) -> dict[str, tuple[str, int]]:
        names = sorted({canonical.chain_of(row[_TENANT]) for row in rows})
        heads = await repository.heads(session, names)
        links: list[dict[str, object]] = []
        for row in rows:
            chain = canonical.chain_of(row[_TENANT])
            prev, seq = heads.get(chain, (canonical.GENESIS, 0))
            seq += 1
            hash_ = canonical.link_hash(prev, chain, seq, row)
            links.append(
                {"chain": chain, "seq": seq, "record_id": row[0], "prev_hash": prev, "hash": hash_}
            )
            heads[chain] = (hash_, seq)
        await repository.add_links(session, links)
        return {chain: heads[chain] for chain in names}

    async def _sign_due(self, session: AsyncSession, heads: dict[str, tuple[str, int]]) -> None:
        now = self._clock()
        signed = await repository.last_checkpoints(session, list(heads))
        for chain, (hash_, seq) in heads.items():
            last_seq, last_ts = signed.get(chain, (0, None))
            if self._due(seq - last_seq, last_ts, now):
                signature = self.sign(chain, seq, hash_, INTERVAL, now)
                await repository.add_checkpoint(session, signature)

    def _due(self, new: int, last: datetime | None, now: datetime) -> bool:
        """A checkpoint is due after ``checkpoint_records`` new links, or when the newest
        unsigned ones follow a checkpoint ``checkpoint_seconds`` old (or none)."""
        if new >= self._cadence.checkpoint_records:
            return True
        age = None if last is None else (now - last).total_seconds()
        return new > 0 and (age is None or age >= self._cadence.checkpoint_seconds)

    async def checkpoint_all(self) -> int:
        """Sign a checkpoint at every chain's head not signed yet (verify's and export's
        fresh ground truth); the number signed."""
        async with translated(), self._sessions() as session, session.begin():
            await repository.lock_sequencing(session)
            names = await repository.chains(session)
            heads = await repository.heads(session, names)
            signed = await repository.last_checkpoints(session, names)
            now, count = self._clock(), 0
            for chain, (hash_, seq) in heads.items():
                if signed.get(chain, (0, now))[0] < seq:
                    signature = self.sign(chain, seq, hash_, INTERVAL, now)
                    await repository.add_checkpoint(session, signature)
                    count += 1
            return count

    def sign(self, chain: str, seq: int, hash_: str, kind: str, now: datetime) -> Checkpoint:
        kid, key = self._keys.checkpoint_key()
        ts = canonical.timestamp(now)
        message = canonical.checkpoint_message(chain, seq, hash_, ts=ts, kind=kind, kid=kid)
        signature = base64.b64encode(key.sign(message)).decode()
        return Checkpoint(chain, seq, hash_, ts, kind, kid, signature)
