"""The access kit on both control databases (SQLite and the real PostgreSQL)."""

from __future__ import annotations

import pytest

from tenantry.bootstrap import Services
from tests.integration.access.support import Kit, kit_for


@pytest.fixture
async def kit(wired: Services) -> Kit:
    return await kit_for(wired)
