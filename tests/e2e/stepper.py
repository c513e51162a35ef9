"""A reconciling process that stops dead after its Nth action, for the SIGKILL test.

Run as ``python -m tests.e2e.stepper DATABASE_URL DATA_DIR TENANT N``: it reconciles TENANT and,
right after its Nth ensure completes, prints ``ACTED`` and waits to be killed.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from tenantry.bootstrap import provisioners, services
from tenantry.core import logging
from tenantry.core.settings import Settings
from tenantry.tenancy.controller.resources import Provisioner, Resource
from tenantry.tenancy.controller.service import Controller


class Stepper:
    def __init__(self, inner: Provisioner, budget: list[int]) -> None:
        self.kind, self.wanted, self.exists = inner.kind, inner.wanted, inner.exists
        self.retire, self.close = inner.retire, inner.close
        self._inner, self._budget = inner, budget

    async def ensure(self, resource: Resource) -> None:
        await self._inner.ensure(resource)
        self._budget[0] -= 1
        if self._budget[0] == 0:
            print("ACTED", flush=True)  # noqa: T201 - the parent reads this line
            await asyncio.sleep(3600)  # paused mid-reconcile until the parent kills it


async def main(url: str, data_dir: str, tenant: str, actions: int) -> None:
    logging.configure(level="WARNING")  # logs go to stderr; stdout carries ACTED only
    settings = Settings(database_url=url, data_dir=Path(data_dir))
    async with services(settings) as wired:
        budget = [actions]
        stepping = [Stepper(p, budget) for p in provisioners(settings)]
        outcome = await Controller(wired.engine, stepping, migrator=wired.migrator).reconcile(
            tenant
        )
        print("DONE", outcome.result, flush=True)  # noqa: T201


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])))
