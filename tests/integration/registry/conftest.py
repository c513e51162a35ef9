"""Registry services whose clock moves on one second per reading, so any write shows."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from tenantry.bootstrap import Services, services
from tenantry.core.settings import Settings

START = datetime(2030, 1, 1, tzinfo=UTC)


class Ticking:
    """A clock that answers a later moment every time it is read."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


@pytest.fixture
async def ticking(settings: Settings) -> AsyncIterator[Services]:
    async with services(settings, clock=Ticking()) as built:
        yield built
