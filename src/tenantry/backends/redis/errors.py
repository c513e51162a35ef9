"""The one place redis-py errors are translated into Tenantry error kinds."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Final

from redis import exceptions

from tenantry.core.errors import Unavailable


class RedisUnavailable(Unavailable):
    code = "redis.unavailable"


# Failures of the server or the way to it, where a later retry may succeed. Other errors
# (a wrong command, a wrong type) are bugs and stay as they are.
TRANSIENT: Final[tuple[type[exceptions.RedisError], ...]] = (
    exceptions.ConnectionError,  # also refused, auth, busy loading, pool exhausted
    exceptions.TimeoutError,
    exceptions.ReadOnlyError,
    exceptions.OutOfMemoryError,
    exceptions.MasterDownError,
    exceptions.TryAgainError,
    exceptions.ClusterDownError,
)


def unavailable(error: BaseException) -> RedisUnavailable:
    """The Tenantry error for a transient redis-py error; raise it ``from error``."""
    first = (str(error).strip().splitlines() or [type(error).__name__])[0]
    return RedisUnavailable(
        f"Redis is unavailable ({type(error).__name__}): {first}",
        details={"reason": type(error).__name__},
    )


@asynccontextmanager
async def translated() -> AsyncIterator[None]:
    """Translate transient errors inside the block (hot paths inline the same ``except``)."""
    try:
        yield
    except TRANSIENT as error:
        raise unavailable(error) from error
