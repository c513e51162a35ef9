"""The one place psycopg errors are translated into Tenantry error kinds."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import psycopg

from tenantry.core.errors import Unavailable


class PostgresUnavailable(Unavailable):
    code = "postgres.unavailable"


@asynccontextmanager
async def translated() -> AsyncIterator[None]:
    try:
        yield
    except psycopg.OperationalError as error:
        first = (str(error).strip().splitlines() or ["connection failed"])[0]
        raise PostgresUnavailable(f"PostgreSQL is unavailable: {first}") from error
