"""Audit use cases: list, verify, checkpoint and prune the chains (docs/audit.md)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tenantry.core import ids
from tenantry.core.errors import InvalidInput
from tenantry.tenancy.audit import canonical, listing, pruning, repository, splitting, views
from tenantry.tenancy.audit import export as exporting
from tenantry.tenancy.audit.appending import append as log_append
from tenantry.tenancy.audit.ports import AuditKeys
from tenantry.tenancy.audit.pruning_access import allow_prune
from tenantry.tenancy.audit.pseudonyms import pseudonymise
from tenantry.tenancy.audit.ranges import stitch
from tenantry.tenancy.audit.schemas import AuditEntry, AuditItem, Outcome, Verdict
from tenantry.tenancy.audit.sequencer import Cadence, Sequencer
from tenantry.tenancy.audit.splitting import Progress, Split
from tenantry.tenancy.audit.verify import PRUNE, ChainVerifier, public_keys
from tenantry.tenancy.registry.errors import translated

READ_BATCH = 10_000  # links per query while verifying


class ChainUnknown(InvalidInput):
    code = "audit.chain_invalid"


@dataclass(frozen=True, slots=True)
class Query:
    """Which records to list: ``chain`` None is every chain (a platform admin's view)."""

    chain: str | None = None
    since: datetime | None = None
    action: str | None = None
    before_id: int | None = None  # the cursor: records older than this id
    limit: int = 100
    users: Sequence[str] = ()  # user ids to show resolved where their pseudonym matches
    viewer: str | None = None  # a tenant whose admins look: their view (``views.for_tenant``)


class AuditService:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        keys: AuditKeys,
        *,
        clock: Callable[[], datetime],
        cadence: Cadence,
        split: Split | None = None,
    ) -> None:
        self._sessions, self._keys, self._clock, self.cadence = sessions, keys, clock, cadence
        self.split = split or Split()
        self.sequencer = Sequencer(sessions, keys, clock=clock, cadence=cadence)
        self._swept: datetime | None = None

    async def tick(self) -> int:
        """The worker's periodic task: link new records, and every ``checkpoint_seconds``
        sign the heads of chains left unsigned."""
        linked = await self.sequencer.run()
        now = self._clock()
        since = None if self._swept is None else (now - self._swept).total_seconds()
        if since is None or since >= self.cadence.checkpoint_seconds:
            await self.sequencer.checkpoint_all()
            self._swept = now
        return linked

    async def records(self, query: Query) -> list[AuditItem]:
        """The newest records first (pending ones included, with no ``seq``)."""
        await self.sequencer.run()
        async with translated(), self._sessions() as session:
            items = self._resolved(await listing.records(session, query), query)
        viewer = query.viewer
        return items if viewer is None else [views.for_tenant(i, viewer) for i in items]

    async def verify(
        self, *, chain: str | None = None, progress: Progress | None = None
    ) -> Verdict:
        """Link what is committed, then verify ``chain`` (every chain when None): in ranges
        across worker processes when the chains are long (``splitting.py``), and link by link
        where that leaves any doubt. ``progress(done, total)`` counts links as ranges finish."""
        await self.sequencer.run(full=True)
        keys = public_keys(self._keys.public_keys())
        async with translated(), self._sessions() as session:
            names = [chain] if chain is not None else await repository.chains(session)
            vouched = await self._in_ranges(session, names, keys, progress)
            verifiers = [
                vouched[name] if name in vouched else await self._verify_chain(session, name, keys)
                for name in names
            ]
            waiting = await repository.pending_by_tenant(session)
        return Verdict([v.report(pending=waiting.get(v.tenant, 0)) for v in verifiers])

    async def _in_ranges(
        self,
        session: AsyncSession,
        names: Sequence[str],
        keys: dict[str, Ed25519PublicKey],
        progress: Progress | None,
    ) -> dict[str, ChainVerifier]:
        """The chains the ranges vouched for whole (none when they are short)."""
        database = repository.worker_database(session)
        if database is None:
            return {}
        # the checkpoints before the bounds: none signed since may lie beyond the links read
        signed = {name: await repository.checkpoints(session, name) for name in names}
        bounds = await repository.bounds(session, names)
        if sum(last - first + 1 for first, last in bounds.values()) < self.split.threshold:
            return {}
        settle = self.cadence.settle
        spans = await asyncio.to_thread(
            splitting.database_spans,
            database,
            bounds,
            signed,
            settle=settle,
            split=self.split,
            progress=progress,
        )
        verifiers = {n: ChainVerifier(n, signed[n], keys, settle=settle) for n in bounds}
        return {n: v for n, v in verifiers.items() if stitch(v, spans[n], settle=settle)}

    async def _verify_chain(
        self, session: AsyncSession, chain: str, keys: dict[str, Ed25519PublicKey]
    ) -> ChainVerifier:
        """Verify ``chain`` link by link."""
        checkpoints = await repository.checkpoints(session, chain)
        verifier = ChainVerifier(chain, checkpoints, keys, settle=self.cadence.settle)
        after = 0
        while True:
            batch = await repository.links(session, chain, after=after, limit=READ_BATCH)
            if not verifier.check(batch) or len(batch) < READ_BATCH:
                break
            after = batch[-1][0]
        return verifier

    async def export(self, out: IO[str], *, chain: str | None = None) -> int:
        """Write the export of ``chain`` (every chain when None), each chain's head signed
        first so the file's tail is covered; the number of links written."""
        await self.sequencer.run(full=True)
        await self.sequencer.checkpoint_all()
        async with translated(), self._sessions() as session:
            names = [chain] if chain is not None else await repository.chains(session)
            keys = self._keys.public_keys()
            return await exporting.write(session, out, chains=names, keys=keys, now=self._clock())

    def verify_export(self, lines: Iterable[str]) -> Verdict:
        return exporting.verify_lines(lines, settle=self.cadence.settle)

    def verify_file(self, path: Path, *, progress: Progress | None = None) -> Verdict:
        """Verify an export file (no database is read), in ranges when it is large."""
        settle = self.cadence.settle
        return splitting.verify_file(path, settle=settle, split=self.split, progress=progress)

    async def prune(
        self,
        before: datetime,
        *,
        owner: async_sessionmaker[AsyncSession] | None = None,
        actor: str = "operator",
    ) -> dict[str, int]:
        """Remove each chain's leading records older than ``before`` behind a signed prune
        checkpoint, in one transaction of ``owner`` (the owner role's sessions); the number of
        records removed per chain."""
        await self.sequencer.run(full=True)
        removed: dict[str, int] = {}
        async with (
            translated(),
            (owner or self._sessions)() as session,
            session.begin(),
            allow_prune(session),
        ):
            await repository.lock_sequencing(session)
            for chain in await repository.chains(session):
                found = await pruning.prunable(session, chain, before)
                if found is not None:
                    seq, hash_ = found
                    signed = self.sequencer.sign(chain, seq, hash_, PRUNE, self._clock())
                    await repository.add_checkpoint(session, signed)
                    removed[chain] = await pruning.remove(session, chain, seq)
            details = {"before": before.isoformat(), "removed": removed}
            entry = AuditEntry(actor, "audit.prune", None, Outcome.SUCCEEDED, details=details)
            await log_append(session, [entry], now=self._clock())
        return removed

    def _resolved(self, items: list[AuditItem], query: Query) -> list[AuditItem]:
        if not query.users:
            return items
        names: dict[str, str] = {}
        for tenant in {item.tenant_id for item in items}:
            for user in query.users:
                names[pseudonymise(self._keys, tenant, user)] = user
        return [
            item.model_copy(update={"user": names[item.user]}) if item.user in names else item
            for item in items
        ]


def chain_named(value: str) -> str:
    """A chain a caller names: a tenant id, or ``@platform``."""
    if value == canonical.PLATFORM_CHAIN:
        return value
    try:
        return ids.tenant_id(value)
    except InvalidInput as error:
        raise ChainUnknown(f"no such audit chain {value!r}: a tenant id or @platform") from error
