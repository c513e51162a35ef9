"""Registry errors, and the one place database driver errors are translated (at the seam)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from tenantry.core.errors import Conflict, InvalidInput, NotFound, Unavailable


class TenantNotFound(NotFound):
    code = "tenant.not_found"

    def __init__(self, tenant_id: str) -> None:
        super().__init__(f"tenant {tenant_id!r} not found", details={"tenant_id": tenant_id})


class TenantExists(Conflict):
    code = "tenant.exists"

    def __init__(self, tenant_id: str) -> None:
        super().__init__(
            f"tenant {tenant_id!r} exists; PUT /api/v1/tenants/{tenant_id} replaces it",
            details={"tenant_id": tenant_id},
        )


class TenantTombstoned(Conflict):
    """A deleted tenant's id is kept as a tombstone and never given to another tenant."""

    code = "tenant.tombstoned"

    def __init__(self, tenant_ids: list[str]) -> None:
        named = ", ".join(repr(tid) for tid in tenant_ids)
        super().__init__(
            f"tenant {named}: deleted, and a deleted tenant's id is never reused "
            "(it is kept as a tombstone); choose another id",
            details={"tenant_ids": tenant_ids},
        )


class PlanNotFound(InvalidInput):
    code = "plan.unknown"


class FlowVersionConflict(Conflict):
    code = "flow.version_conflict"


class FlowVersionUnknown(InvalidInput):
    """A binding pins a flow version that was never applied for the tenant."""

    code = "flow.version_unknown"


class FlowNotFound(NotFound):
    code = "flow.not_found"


class ControlDatabaseUnavailable(Unavailable):
    code = "control_db.unavailable"


@asynccontextmanager
async def translated() -> AsyncIterator[None]:
    """Turn a lost or refused database connection into :class:`ControlDatabaseUnavailable`."""
    try:
        yield
    except IntegrityError as error:
        raise Conflict(
            "a concurrent change got there first; run the command again",
            code="registry.concurrent_change",
        ) from error
    except (OperationalError, OSError) as error:
        raise ControlDatabaseUnavailable(
            f"the control database is unavailable: {_first_line(error)}"
        ) from error
    except DBAPIError as error:
        if error.connection_invalidated:
            raise ControlDatabaseUnavailable("lost the control database connection") from error
        raise


def _first_line(error: BaseException) -> str:
    text = str(getattr(error, "orig", None) or error)
    return text.strip().splitlines()[0] if text.strip() else type(error).__name__
