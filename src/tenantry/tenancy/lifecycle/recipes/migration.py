"""Migrate: move a tenant's environments to the placement its (changed) profile gives them.

A profile change leaves every environment on its stored placement (the controller only
records ``MigrationRequired``) and requests this job. Per environment whose placement changes:

1. ``plan`` records the moves (stored placement -> the profile's placement);
2. ``provision`` records the new resources as owned, then makes them (the relational one is
   brought to the tenant migration tree's head, and gets the tenant's own tables);
3. ``copy`` copies relational rows from one snapshot (remembering that snapshot's checksums)
   and every object whose bytes differ;
4. ``verify`` checks the copy against what was copied: per table the row count and checksum,
   per object its key and the SHA-256 of its stored bytes;
5. ``cutover`` (the point of no return) freezes writes (``lifecycle.freeze``), waits for those
   in flight, copies what changed since (tables whose checksum moved, objects whose tag
   differs, objects deleted), verifies it, then flips the placement and thaws in one
   transaction. Writes waited meanwhile; reads went on.

A failed verification fails the job: the done steps are undone (``provision``'s undo drops
the new schema or database and the new bucket or prefix, never the tenant's role), and the
tenant serves from its old placement as before. A cancel before the cutover does the same.

The old copy stays for ``grace`` (a setting); then :class:`Retirements` (a worker task)
removes what the current placement does not use. Sessions, state and secrets do not depend on
the placement; search documents live in the relational data and move with it. Messaging is
not moved (see ``docs/lifecycle.md``).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Awaitable
from typing import Any

from sqlalchemy import select, update

from tenantry.core.errors import Conflict, TenantryError, Unavailable
from tenantry.core.logging import get_logger
from tenantry.tenancy.controller import repository as controller_repository
from tenantry.tenancy.controller.resources import Kind, Provisioner, Resource
from tenantry.tenancy.isolation.placement import ObjectPlacement, Placement
from tenantry.tenancy.isolation.strategies import place
from tenantry.tenancy.lifecycle import repository
from tenantry.tenancy.lifecycle.jobs import Job, JobState, StepRecord, StepState
from tenantry.tenancy.lifecycle.models import JobRow
from tenantry.tenancy.lifecycle.moving import (
    Moving,
    ObjectMover,
    TableSum,
    VerificationFailed,
    mismatches,
)
from tenantry.tenancy.lifecycle.recipes.toolkit import Toolkit
from tenantry.tenancy.lifecycle.service import LifecycleService
from tenantry.tenancy.lifecycle.states import JobKind, LifecycleState
from tenantry.tenancy.lifecycle.steps import Recipe, Step, Work
from tenantry.tenancy.manifests.schemas import Profile
from tenantry.tenancy.registry.database import SessionFactory
from tenantry.tenancy.registry.errors import translated
from tenantry.tenancy.registry.models import TenantRow

log = get_logger(__name__)
MOVED = (Kind.RELATIONAL, Kind.OBJECTS)  # the kinds a migration copies
Move = tuple[str, Placement, Placement]  # environment, from, to


def migrate(toolkit: Toolkit) -> Recipe:
    kit = toolkit.moving

    def steps(job: Job) -> list[Step]:
        del job
        if kit is None:
            return [Step("plan", _unsupported)]
        return [
            Step("plan", lambda work: _plan(toolkit, kit, work)),
            Step(
                "provision",
                lambda work: _provision(toolkit, kit, work),
                undo=lambda work: _unprovision(toolkit, kit, work),
            ),
            Step("copy", lambda work: _copy(kit, work)),
            Step("verify", lambda work: _verify(kit, work)),
            Step("cutover", lambda work: _cutover(toolkit, kit, work), final=True),
        ]

    return steps


async def _unsupported(work: Work) -> None:
    raise Unavailable("this process has no migration backends wired", code="migration.unwired")


def _moves(work: Work) -> list[Move]:
    return [
        (env, Placement.from_dict(move["from"]), Placement.from_dict(move["to"]))
        for env, move in sorted(work.outputs.get("moves", {}).items())
    ]


async def _plan(toolkit: Toolkit, kit: Moving, work: Work) -> None:
    """Record each environment whose stored placement is not its profile's."""
    if "moves" in work.outputs:
        return
    row = await toolkit.tenant(work.job.tenant_id)
    profile = Profile(row.profile)
    moves: dict[str, Any] = {}
    for env, stored in sorted((row.placement or {}).items()):
        target = place(profile, row.id, env, kit.layout)
        if Placement.from_dict(stored) != target:
            _check_movable(kit, Placement.from_dict(stored), target)
            moves[env] = {"from": stored, "to": target.as_dict()}
    await work.remember(moves=moves)


def _check_movable(kit: Moving, source: Placement, target: Placement) -> None:
    """Retained messages are not moved yet: with a messaging backend (NATS) whose resource
    changes with the placement, the move is refused before anything is made."""
    for provisioner in kit.provisioners:
        if provisioner.kind is Kind.MESSAGING and (
            provisioner.wanted(source) != provisioner.wanted(target)
        ):
            raise MoveUnsupported(
                f"tenant {source.tenant_id!r}: moving {source.env_id}'s messages from"
                f" {source.messaging.stream} to {target.messaging.stream} is not supported yet;"
                " the tenant stays on its placement",
                details={"tenant_id": source.tenant_id, "env_id": source.env_id},
            )
        if (
            provisioner.kind is Kind.RELATIONAL
            and kit.relational is None
            and provisioner.wanted(source) != provisioner.wanted(target)
        ):
            raise MoveUnsupported(
                f"tenant {source.tenant_id!r}: no relational mover for this backend",
                details={"tenant_id": source.tenant_id, "env_id": source.env_id},
            )


class MoveUnsupported(Conflict):
    code = "migration.unsupported"


def _changed(
    kit: Moving, source: Placement, target: Placement
) -> list[tuple[Provisioner, Resource]]:
    """The resources ``target`` needs that ``source`` does not, of the kinds that move."""
    found = []
    for provisioner in kit.provisioners:
        if provisioner.kind not in MOVED:
            continue
        new = provisioner.wanted(target)
        if new is not None and new != provisioner.wanted(source):
            found.append((provisioner, new))
    return found


def _relational_moves(kit: Moving, source: Placement, target: Placement) -> bool:
    return kit.relational is not None and kit.relational.moves(source, target)


async def _provision(toolkit: Toolkit, kit: Moving, work: Work) -> None:
    for _, source, target in _moves(work):
        changed = _changed(kit, source, target)
        await _own(toolkit, work.job.tenant_id, [r for _, r in changed], owned=True)
        for provisioner, resource in changed:
            await provisioner.ensure(resource)
        if kit.relational is not None and _relational_moves(kit, source, target):
            failed = [
                r for r in await kit.migrator.upgrade(kit.migrator.targets([target])) if r.error
            ]
            if failed:
                raise Unavailable(
                    f"the new placement's tenant schema did not migrate: {failed[0].error}",
                    code="schema.migration_failed",
                )
            await kit.relational.prepare(source, target)


async def _unprovision(toolkit: Toolkit, kit: Moving, work: Work) -> None:
    """Drop the partial copy: the new schema or database and object space (never the role)."""
    for _, source, target in _moves(work):
        changed = _changed(kit, source, target)
        for provisioner, resource in changed:
            if provisioner.kind is Kind.RELATIONAL:
                if kit.relational is not None and _relational_moves(kit, source, target):
                    await kit.relational.drop(target)
            else:
                await provisioner.retire(resource)
        await _own(toolkit, work.job.tenant_id, [r for _, r in changed], owned=False)


async def _copy(kit: Moving, work: Work) -> None:
    copied: dict[str, Any] = dict(work.outputs.get("copied", {}))
    for env, source, target in _moves(work):
        done: dict[str, Any] = {}
        if kit.relational is not None and _relational_moves(kit, source, target):
            await kit.relational.prepare(source, target)  # tables made since the provision
            result = await kit.relational.copy(source, target)
            done["tables"] = result.rows
            done["sums"] = _sums(result.sums)
        if source.objects != target.objects:
            done["objects"] = await _sync_objects(kit.objects, source.objects, target.objects)
        copied[env] = done
        await work.remember(copied=copied)


def _sums(sums: dict[str, TableSum]) -> dict[str, list[Any]]:
    return {t: [s.rows, s.checksum] for t, s in sums.items()}


async def _sync_objects(
    mover: ObjectMover, source: ObjectPlacement, target: ObjectPlacement
) -> dict[str, str]:
    """Make ``target`` hold what ``source`` holds: copy what differs, remove what is gone.
    Returns the source's listing (key -> tag) the copy worked from."""
    have, there = await asyncio.gather(mover.listing(source), mover.listing(target))
    await mover.copy(source, target, sorted(k for k, tag in have.items() if there.get(k) != tag))
    await mover.remove(target, sorted(set(there) - set(have)))
    return have


async def _verify(kit: Moving, work: Work) -> None:
    """Check the copy against what it copied: each table's row count and checksum against
    those of the source snapshot the copy read; each object's key, tag and SHA-256 against
    the source's, for every object the source has not changed since (the cutover copies
    those)."""
    copied = work.outputs.get("copied", {})
    for env, source, target in _moves(work):
        done = copied.get(env, {})
        if kit.relational is not None and _relational_moves(kit, source, target):
            await _verify_relational(kit, env, target, done.get("sums", {}))
        if source.objects != target.objects:
            await _verify_objects(
                kit.objects, env, source.objects, target.objects, done.get("objects", {})
            )


async def _verify_relational(
    kit: Moving, env: str, target: Placement, expected: dict[str, list[Any]]
) -> None:
    if kit.relational is None:
        return
    bad = mismatches(expected, _sums(await kit.relational.sums(target)))
    if bad:
        raise VerificationFailed(
            f"environment {env}: the copy of table(s) {', '.join(bad)} differs from its source"
            " (row count or checksum)",
            details={"env_id": env, "tables": bad},
        )


async def _verify_objects(
    mover: ObjectMover,
    env: str,
    source: ObjectPlacement,
    target: ObjectPlacement,
    copied: dict[str, str],
    *,
    frozen: dict[str, str] | None = None,
) -> None:
    """``copied``: the source's listing the copy worked from. Not ``frozen``: the keys the
    source still holds unchanged must be equal in the target (tag and SHA-256). ``frozen``
    (the source's listing while it holds still): both listings must be equal, and the bytes of
    ``copied`` keys too; the reads go out side by side."""
    if frozen is not None:
        checked = sorted(k for k in copied if k in frozen)
        there, ours, theirs = await asyncio.gather(
            mover.listing(target), mover.digests(source, checked), mover.digests(target, checked)
        )
        bad = mismatches(frozen, there)
    else:
        have, there = await asyncio.gather(mover.listing(source), mover.listing(target))
        checked = sorted(k for k, tag in copied.items() if have.get(k) == tag)
        ours, theirs = await asyncio.gather(
            mover.digests(source, checked), mover.digests(target, checked)
        )
        bad = [k for k in checked if there.get(k) != copied[k]]
    bad = sorted({*bad, *(k for k in checked if ours.get(k) != theirs.get(k))})
    if bad:
        raise VerificationFailed(
            f"environment {env}: {len(bad)} object(s) of the copy differ from the source"
            f" (e.g. {', '.join(bad[:5])})",
            details={"env_id": env, "objects": bad[:20]},
        )


async def _cutover(toolkit: Toolkit, kit: Moving, work: Work) -> None:
    tenant_id = work.job.tenant_id
    moves = _moves(work)
    timings: dict[str, float] = {}
    if moves and not await _flipped(toolkit, tenant_id, moves):
        async with controller_repository.lease(kit.engine, tenant_id) as held:
            if not held:
                raise Unavailable(
                    f"tenant {tenant_id!r} is being reconciled; the cutover is tried again",
                    code="migration.busy",
                )
            began = time.perf_counter()
            await kit.freezer.freeze(tenant_id)
            drained = time.perf_counter()
            try:
                await _catch_up(kit, work, moves)
                caught_up = time.perf_counter()
                await _flip(toolkit, kit, tenant_id, moves)
            except BaseException:
                await kit.freezer.thaw(tenant_id)
                raise
            timings = {
                "drain_ms": round((drained - began) * 1000, 1),
                "catch_up_ms": round((caught_up - drained) * 1000, 1),
                "frozen_ms": round((time.perf_counter() - began) * 1000, 1),
            }
            log.info("migration.cutover", tenant_id=tenant_id, **timings)
    retire_after = toolkit.clock() + kit.grace
    await work.remember(flipped=True, retire_after=retire_after.isoformat(), freeze=timings)
    if kit.reconcile is not None:
        try:
            await kit.reconcile(tenant_id)
        except TenantryError as error:  # the periodic resync does it later
            log.warning("migration.reconcile_failed", tenant_id=tenant_id, error=error.message)


async def _catch_up(kit: Moving, work: Work, moves: list[Move]) -> None:
    """Under the freeze: copy what changed since the copy, and verify it (relational data and
    objects side by side)."""
    copied = work.outputs.get("copied", {})
    for env, source, target in moves:
        done = copied.get(env, {})
        relational, objects = await asyncio.gather(
            _timed(_catch_up_relational(kit, env, source, target, done.get("sums", {}))),
            _timed(_catch_up_objects(kit, env, source, target, done.get("objects", {}))),
        )
        log.info("migration.caught_up", env_id=env, relational_ms=relational, objects_ms=objects)


async def _timed(work: Awaitable[None]) -> float:
    """How long ``work`` took, in milliseconds."""
    began = time.perf_counter()
    await work
    return round((time.perf_counter() - began) * 1000, 1)


async def _catch_up_relational(
    kit: Moving, env: str, source: Placement, target: Placement, recorded: dict[str, Any]
) -> None:
    if kit.relational is None or not _relational_moves(kit, source, target):
        return
    copied = {t: TableSum(int(v[0]), str(v[1])) for t, v in recorded.items()}
    done = await kit.relational.refresh(source, target, copied)
    bad = mismatches(
        {t: done.source.get(t) for t in done.stale}, {t: done.target.get(t) for t in done.stale}
    )
    if bad:
        raise VerificationFailed(
            f"environment {env}: the copy of table(s) {', '.join(bad)} differs from its"
            " source (row count or checksum)",
            details={"env_id": env, "tables": bad},
        )


async def _catch_up_objects(
    kit: Moving, env: str, source: Placement, target: Placement, before: dict[str, str]
) -> None:
    if source.objects == target.objects:
        return
    have = await _sync_objects(kit.objects, source.objects, target.objects)
    changed = {k: tag for k, tag in have.items() if before.get(k) != tag}
    await _verify_objects(kit.objects, env, source.objects, target.objects, changed, frozen=have)


async def _flipped(toolkit: Toolkit, tenant_id: str, moves: list[Move]) -> bool:
    stored = (await toolkit.tenant(tenant_id)).placement or {}
    return all(Placement.from_dict(stored[env]) == target for env, _, target in moves)


async def _flip(toolkit: Toolkit, kit: Moving, tenant_id: str, moves: list[Move]) -> None:
    """The new placements and the end of the freeze, in one transaction."""
    async with translated(), toolkit.sessions() as session, session.begin():
        row = await repository.tenant(session, tenant_id)
        if row is None:
            raise Unavailable(f"tenant {tenant_id!r} vanished during its migration")
        frozen = row.writes_frozen_until
        if frozen is None or frozen <= toolkit.clock():  # writes may have gone on meanwhile
            raise Unavailable(
                f"tenant {tenant_id!r}: the write freeze ended before the cutover was done;"
                " the cutover is tried again",
                code="migration.freeze_lapsed",
            )
        placement = dict(row.placement or {})
        for env, _, target in moves:
            placement[env] = target.as_dict()
        row.placement, row.updated_at = placement, toolkit.clock()
        await kit.freezer.thaw(tenant_id, session)


async def _own(toolkit: Toolkit, tenant_id: str, resources: list[Resource], *, owned: bool) -> None:
    """Record ``resources`` as the tenant's (before they are made), or forget them."""
    if not resources:
        return
    async with translated(), toolkit.sessions() as session, session.begin():
        row = await repository.tenant(session, tenant_id)
        if row is None:
            return
        records = [r for r in row.resources if Resource.from_dict(r) not in resources]
        if owned:
            records += [r.as_dict() for r in resources]
        row.resources = sorted(records, key=Resource.from_dict)


class Retirements:
    """After the grace period, remove what a migration left behind and the tenant's current
    placement does not use (a worker task). A succeeded migrate job with no ``not_before`` has
    its retirement pending; once done, ``not_before`` records when, and a ``retire`` step
    shows in the job."""

    def __init__(self, toolkit: Toolkit) -> None:
        self.toolkit = self._toolkit = toolkit

    async def due(self) -> list[str]:
        now = self._toolkit.clock()
        query = select(JobRow).where(
            JobRow.kind == JobKind.MIGRATE.value,
            JobRow.state == JobState.SUCCEEDED.value,
            JobRow.not_before.is_(None),
        )
        async with translated(), self._toolkit.sessions() as session:
            rows = list((await session.scalars(query.order_by(JobRow.finished_at))).all())
        return [r.id for r in rows if _retire_after(r) <= now]

    async def run(self) -> int:
        """Retire every due migration; how many were."""
        done = 0
        for job_id in await self.due():
            done += await self.retire(job_id)
        return done

    async def retire(self, job_id: str) -> bool:
        kit, toolkit = self._toolkit.moving, self._toolkit
        async with translated(), toolkit.sessions() as session:
            job = await repository.get(session, job_id)
            if job is None:
                return False
            outputs = job.params.get("outputs", {})
            tenant = await session.get(TenantRow, job.tenant_id)
            busy = await repository.active_for(session, job.tenant_id)
        if kit is None or (busy is not None and tenant is not None):
            return False  # a job of the tenant runs: after it (it may use the old copy)
        gone = tenant is None or tenant.lifecycle_state in {
            LifecycleState.DELETING.value,
            LifecycleState.DELETED.value,
        }
        if not gone and tenant is not None:
            await self._remove(kit, tenant, outputs)
        await self._done(job_id)
        return True

    async def _remove(self, kit: Moving, tenant: TenantRow, outputs: dict[str, Any]) -> None:
        stored = tenant.placement or {}
        for env, move in sorted(outputs.get("moves", {}).items()):
            old = Placement.from_dict(move["from"])
            current = Placement.from_dict(stored[env]) if env in stored else None
            using = (
                set()
                if current is None
                else {r for p in kit.provisioners if (r := p.wanted(current)) is not None}
            )
            retired = []
            for provisioner in kit.provisioners:
                resource = provisioner.wanted(old)
                if provisioner.kind not in MOVED or resource is None or resource in using:
                    continue
                if provisioner.kind is Kind.RELATIONAL:
                    if kit.relational is None or (
                        current is not None and not kit.relational.moves(old, current)
                    ):
                        continue
                    await kit.relational.drop(old)  # the schema or database, never the role
                else:
                    await provisioner.retire(resource)
                retired.append(resource)
            await _own(self._toolkit, tenant.id, retired, owned=False)
            log.info("migration.retired", tenant_id=tenant.id, env_id=env, count=len(retired))

    async def _done(self, job_id: str) -> None:
        now = self._toolkit.clock()
        async with translated(), self._toolkit.sessions() as session, session.begin():
            job = await repository.get(session, job_id, lock=True)
            if job is None:
                return
            record = StepRecord(
                name="retire", state=StepState.DONE, attempts=1, started_at=now, ended_at=now
            )
            steps = [s for s in job.steps if s.get("name") != "retire"]
            await session.execute(
                update(JobRow)
                .where(JobRow.id == job_id)
                .values(
                    not_before=now,
                    updated_at=now,
                    steps=[*steps, record.model_dump(mode="json")],
                )
            )


def _retire_after(row: JobRow) -> dt.datetime:
    outputs = row.params.get("outputs", {})
    stamp = outputs.get("retire_after")
    if not outputs.get("moves") or stamp is None:
        return row.finished_at or row.updated_at  # nothing moved: nothing to wait for
    return dt.datetime.fromisoformat(stamp)


async def start(
    lifecycle: LifecycleService, sessions: SessionFactory, tenant_id: str
) -> Job | None:
    """Request the migrate job of a tenant whose reconcile found moves (the controller's
    hook), tagged with the spec generation it serves. Not again for a generation whose
    migration failed or was cancelled: ``tenantry jobs retry`` or a spec change does that."""
    async with translated(), sessions() as session:
        tenant = await session.get(TenantRow, tenant_id)
        last = (
            await session.scalars(
                select(JobRow)
                .where(JobRow.tenant_id == tenant_id, JobRow.kind == JobKind.MIGRATE.value)
                .order_by(JobRow.created_at.desc())
                .limit(1)
            )
        ).one_or_none()
    if tenant is None:
        return None
    given_up = {JobState.FAILED.value, JobState.CANCELLED.value}
    if (
        last is not None
        and last.state in given_up
        and last.params.get("generation") == tenant.generation
    ):
        return None
    return await lifecycle.request(
        JobKind.MIGRATE,
        tenant_id,
        actor="controller",
        options={"generation": tenant.generation},
    )
