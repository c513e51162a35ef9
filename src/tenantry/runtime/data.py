"""Tenant data: the scope's relational session (DESIGN.md section 6, rule 4).

Platform code runs its own queries in a tenant environment's relational space like this::

    async with scope.data.transaction() as conn:  # an SQLAlchemy AsyncConnection
        await conn.execute(text("INSERT INTO notes (id, body) VALUES (:i, :b)"), {...})
        rows = (await conn.execute(text("SELECT body FROM notes"))).all()

``conn`` is placed in the tenant environment's schema, database or SQLite file for exactly that
transaction, then committed (or rolled back when the block raises). Names are unqualified; the
backend decides where they resolve. Savepoints (``conn.begin_nested()``) work as usual. A commit
or rollback of the whole transaction from inside the block ends the scope: later statements on
``conn`` fail with :class:`OutsideScope`.

The guard: engines that serve tenant data carry a listener (:func:`guard`) that refuses every
statement not issued inside :meth:`TenantData.transaction`, so a query that forgot its scope fails
loudly instead of running with the platform's own privileges.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractAsyncContextManager, contextmanager
from typing import Any, Final, Protocol

from sqlalchemy import Connection, event
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from tenantry.core.errors import Forbidden, NotFound, Unavailable

SCOPE_KEY: Final = "tenantry.scope"
"""The key in ``Connection.info`` that marks a connection as inside a tenant transaction."""


class OutsideScope(Forbidden):
    """A statement on a tenant-data engine outside ``TenantData.transaction()``."""

    code = "tenant_data.outside_scope"


class TenantDataForbidden(Forbidden):
    """The tenant environment's role may not touch that object (e.g. another tenant's schema)."""

    code = "tenant_data.forbidden"


class NotProvisioned(NotFound):
    """The tenant environment has no relational space (yet, or any more)."""

    code = "tenant_data.not_provisioned"


class TenantDataUnavailable(Unavailable):
    code = "tenant_data.unavailable"


class TenantData(Protocol):
    """One tenant environment's relational space."""

    @property
    def tenant_id(self) -> str: ...

    @property
    def env_id(self) -> str: ...

    @property
    def dialect(self) -> str:
        """``postgresql`` or ``sqlite``: for stores that need dialect-specific SQL."""
        ...

    def transaction(self) -> AbstractAsyncContextManager[AsyncConnection]:
        """A connection placed in the tenant's space for one transaction."""
        ...


@contextmanager
def marked(conn: AsyncConnection, tenant_id: str, env_id: str) -> Iterator[None]:
    """Let statements through on ``conn`` until its transaction ends or the block exits."""
    info = conn.info  # held: once the connection is invalidated, reading it again means I/O
    info[SCOPE_KEY] = (tenant_id, env_id)
    try:
        yield
    finally:
        info.pop(SCOPE_KEY, None)


def guard(engine: AsyncEngine) -> None:
    """Make ``engine`` refuse statements outside a tenant transaction (idempotent)."""
    target = engine.sync_engine
    for name, listener in _LISTENERS.items():
        if not event.contains(target, name, listener):
            event.listen(target, name, listener)


def _refuse_outside(conn: Connection, *_: Any) -> None:
    if SCOPE_KEY not in conn.info:
        raise OutsideScope(
            "a query on tenant data ran outside a tenant transaction; run it inside "
            "`async with scope.data.transaction() as conn:`"
        )


def _end_scope(conn: Connection) -> None:
    # Whoever ends the transaction ends the scope: the role and search path were transaction-
    # local, so nothing after this point may run as if still inside the tenant's space. (An
    # invalidated connection has no info to read without reconnecting; it runs nothing more.)
    if not conn.invalidated:
        conn.info.pop(SCOPE_KEY, None)


_LISTENERS = {
    "before_cursor_execute": _refuse_outside,
    "commit": _end_scope,
    "rollback": _end_scope,
}
