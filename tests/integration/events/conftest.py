"""The events stack: the embedded default (SQLite, in-process bus) or PostgreSQL with a NATS
JetStream server of the test's own; and what was published, read back from either bus."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nats
import pytest

from tenantry.bootstrap import Services, services
from tenantry.core import names
from tenantry.core.settings import Settings
from tenantry.runtime.messaging.ports import Message
from tenantry.tenancy.manifests.schemas import Bundle, TenantSpec
from tests.conftest import empty
from tests.e2e.test_outage import NatsServer


@dataclass
class Published:
    """Every event the bus kept: the in-process bus's listener saw them (it offers each id
    once); on NATS they are read back from the events stream (its stored copies)."""

    wired: Services
    seen: list[Message] = field(default_factory=list)

    async def events(self, tenant: str | None = None) -> list[tuple[str, dict[str, Any]]]:
        found = await self._stored() if self.wired.settings.nats_url else list(self.seen)
        head = names.event_filter(tenant, prefix=self.wired.settings.events_subject_prefix)
        return [(m.subject, json.loads(m.data)) for m in found if m.subject.startswith(head[:-1])]

    async def _stored(self) -> list[Message]:
        url = self.wired.settings.nats_url
        assert url is not None
        client = await nats.connect(url)
        try:
            js = client.jetstream()
            stream = names.events_stream(self.wired.settings.events_subject_prefix)
            try:
                info = await js.stream_info(stream)
            except nats.js.errors.NotFoundError:
                return []
            state = info.state
            found = []
            for seq in range(state.first_seq, state.last_seq + 1) if state.messages else ():
                raw = await js.get_msg(stream, seq)
                found.append(Message(raw.subject or "", raw.data or b""))
            return found
        finally:
            await client.close()


@pytest.fixture
def nats_url(tmp_path: Path) -> Iterator[str]:
    server = NatsServer(tmp_path / "nats")
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture(params=["embedded", pytest.param("real", marks=pytest.mark.postgres)])
def stack_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=f"sqlite:///{tmp_path / 'c.db'}",
        admin_token="admin-secret",
    )
    if request.param == "real":
        settings = settings.model_copy(
            update={
                "database_url": empty(request.getfixturevalue("postgres_url")),
                "nats_url": request.getfixturevalue("nats_url"),
            }
        )
    return settings


@pytest.fixture
async def stack(stack_settings: Settings) -> AsyncIterator[Services]:
    async with services(stack_settings) as wired:
        yield wired


@pytest.fixture
async def published(stack: Services) -> AsyncIterator[Published]:
    """Listens on every event subject from now on (the in-process bus keeps none)."""
    found = Published(stack)
    prefix = stack.settings.events_subject_prefix
    async with stack.bus.listen(names.event_filter(prefix=prefix)) as messages:

        async def collect() -> None:
            async for message in messages:
                found.seen.append(message)

        collecting = asyncio.create_task(collect())
        try:
            yield found
        finally:
            collecting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await collecting


def bundle(*tenants: str) -> Bundle:
    return Bundle(tenants={t: TenantSpec(name=t) for t in tenants})


async def settle() -> None:
    """Lets the listener take what was published (the in-process bus offers at once)."""
    for _ in range(20):
        await asyncio.sleep(0.01)
