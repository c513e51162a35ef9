"""Fleet migrations of tenant data: bounded concurrency, per-tenant results, resumable.

Each tenant environment's revision is recorded in the control database, so finding the work is
one indexed query: a fleet already at head costs that query and nothing else. A crash loses at
most the migrations in flight; they are still recorded as behind head and run again (Alembic's
own version table in each target makes that safe).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from tenantry.core.clock import Clock, utc_now
from tenantry.core.errors import TenantryError
from tenantry.tenancy.isolation.placement import Placement, Relational, RelationalPlacement
from tenantry.tenancy.registry.database import session_factory
from tenantry.tenancy.registry.errors import translated
from tenantry.tenancy.registry.models import SchemaRevisionRow
from tenantry.tenancy.schema.fast import SchemaApplier
from tenantry.tenancy.schema.runner import Runner, head
from tenantry.tenancy.schema.targets import Target, target


@dataclass(frozen=True, slots=True)
class Result:
    tenant_id: str
    env_id: str
    revision: str | None
    error: str | None = None


Progress = Callable[[Result], None]


class Migrator:
    def __init__(
        self,
        engine: AsyncEngine,
        *,
        postgres_url: str | None,
        data_root: Path,
        runner: Runner | None = None,
        clock: Clock = utc_now,
    ) -> None:
        self._sessions = session_factory(engine)
        self._postgres_url, self._data_root = postgres_url, data_root
        self.runner = runner or Runner()
        self.head = head(self.runner.tree)
        self.fast = SchemaApplier(self.runner.tree, self.head)
        self._clock = clock

    def targets(self, placements: Sequence[Placement]) -> list[Target]:
        return [
            self._target(p.tenant_id, p.env_id, p.relational)
            for p in placements
            if p.relational.mode is not Relational.EXTERNAL
        ]

    def _target(self, tenant_id: str, env_id: str, relational: RelationalPlacement) -> Target:
        return target(
            tenant_id,
            env_id,
            relational,
            postgres_url=self._postgres_url,
            data_root=self._data_root,
        )

    async def pending(self) -> list[Target]:
        """Tenant environments behind head: one query."""
        row = SchemaRevisionRow
        query = select(row.tenant_id, row.env_id, row.target).where(
            or_(SchemaRevisionRow.revision.is_(None), SchemaRevisionRow.revision != self.head)
        )
        async with translated(), self._sessions() as session:
            rows = (await session.execute(query.order_by(SchemaRevisionRow.tenant_id))).all()
        return [self._target(tenant, env, _relational(doc)) for tenant, env, doc in rows]

    async def upgrade_placements(
        self, placements: Sequence[Placement], *, concurrency: int = 4
    ) -> list[Result]:
        """Register and upgrade the relational data of these placements (the controller's use)."""
        placed = [p for p in placements if p.relational.mode is not Relational.EXTERNAL]
        await self._register({(p.tenant_id, p.env_id): p.relational for p in placed})
        return await self.upgrade(self.targets(placed), concurrency=concurrency)

    async def upgrade(
        self, targets: Sequence[Target], *, concurrency: int = 4, progress: Progress | None = None
    ) -> list[Result]:
        """Upgrade each target to head, ``concurrency`` at a time; failures are reported, not
        raised, so one broken tenant never stops the fleet."""
        gate = asyncio.Semaphore(concurrency)

        async def one(item: Target) -> Result:
            async with gate:
                result = await self._upgrade_one(item)
            if progress is not None:
                progress(result)
            return result

        return list(await asyncio.gather(*(one(t) for t in targets)))

    async def _upgrade_one(self, item: Target) -> Result:
        try:
            if item.schema is not None:
                revision = await self.fast.upgrade(item)
            else:
                revision = await asyncio.to_thread(self.runner.upgrade, item)
            result = Result(item.tenant_id, item.env_id, revision)
        except (TenantryError, OSError, RuntimeError, ValueError) as error:
            result = Result(item.tenant_id, item.env_id, None, str(error).splitlines()[0])
        except Exception as error:  # driver errors of any kind: report per tenant, go on
            result = Result(
                item.tenant_id,
                item.env_id,
                None,
                f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}",
            )
        await self._record(result)
        return result

    async def _register(self, placements: dict[tuple[str, str], RelationalPlacement]) -> None:
        """Record where each tenant environment's data lives (never a credential)."""
        now = self._clock()
        async with translated(), self._sessions() as session, session.begin():
            for (tenant_id, env_id), relational in placements.items():
                document = {
                    "mode": relational.mode.value,
                    "name": relational.name,
                    "role": relational.role,
                }
                row = await session.get(SchemaRevisionRow, (tenant_id, env_id))
                if row is None:
                    session.add(
                        SchemaRevisionRow(
                            tenant_id=tenant_id,
                            env_id=env_id,
                            target=document,
                            revision=None,
                            error=None,
                            updated_at=now,
                        )
                    )
                elif row.target != document:
                    row.target, row.revision, row.updated_at = document, None, now

    async def _record(self, result: Result) -> None:
        row = SchemaRevisionRow
        values: dict[str, Any] = {"error": result.error, "updated_at": self._clock()}
        if result.revision is not None:
            values["revision"] = result.revision
        query = update(row).where(row.tenant_id == result.tenant_id, row.env_id == result.env_id)
        async with translated(), self._sessions() as session, session.begin():
            await session.execute(query.values(**values))

    async def forget(self, tenant_id: str, env_id: str) -> None:
        async with translated(), self._sessions() as session, session.begin():
            row = await session.get(SchemaRevisionRow, (tenant_id, env_id))
            if row is not None:
                await session.delete(row)

    async def close(self) -> None:
        await self.fast.close()
        self.runner.close()


def _relational(document: dict[str, Any]) -> RelationalPlacement:
    return RelationalPlacement(Relational(document["mode"]), document["name"], document["role"])
