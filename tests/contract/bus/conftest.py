"""Every bus contract test runs on the in-process bus and on NATS JetStream (a shared stream
and a dedicated one); the NATS cases need the real server (marked like other real services)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.contract.bus.support import Harness

BACKENDS = [
    "memory",
    pytest.param("nats-shared", marks=pytest.mark.postgres),
    pytest.param("nats-dedicated", marks=pytest.mark.postgres),
]


@pytest.fixture(params=BACKENDS)
async def harness(request: pytest.FixtureRequest) -> AsyncIterator[Harness]:
    made = Harness(request.param)
    try:
        yield made
    finally:
        await made.close()
