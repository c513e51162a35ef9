"""A worker that dies mid-message, for the runner's SIGKILL test.

Run as ``python -m tests.e2e.runner_stepper DATABASE_URL DATA_DIR NATS_URL``: it runs the shared
pool; once a message's session is saved, just before its reply is published, it prints
``SAVED`` and waits to be killed.
"""

from __future__ import annotations

import asyncio
import dataclasses
import sys
from pathlib import Path
from typing import Any

from tenantry.bootstrap import flow_slots, services
from tenantry.core import logging
from tenantry.core.settings import Settings
from tenantry.runtime.messaging.ports import Bus
from tenantry.worker.runners import wiring


class Dying:
    def __init__(self, bus: Bus) -> None:
        self._bus, self.prefix = bus, bus.prefix

    async def publish(self, subject: str, data: bytes, *, message_id: str) -> None:
        if ".egress." in subject:
            print("SAVED", flush=True)  # noqa: T201 - the parent reads this line
            await asyncio.sleep(3600)
        await self._bus.publish(subject, data, message_id=message_id)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._bus, name)


async def main(url: str, data_dir: str, nats_url: str) -> None:
    logging.configure(level="WARNING")
    settings = Settings(database_url=url, data_dir=Path(data_dir), nats_url=nats_url)
    async with services(settings) as wired, flow_slots(settings, wired.limits) as slots:
        pool = wiring.pool(wired, "shared", slots)
        pool.processor = dataclasses.replace(pool.processor, bus=Dying(wired.bus))
        await pool.run(asyncio.Event())


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3]))
