"""Writing an event to the outbox, inside the caller's transaction.

The event is numbered from its tenant's counter (an upsert that takes the counter's row lock,
so a tenant's events are numbered in commit order) and signed with the events key attached to
the session's engine (:func:`sign_with`, done by ``bootstrap``). An engine without one (tools,
tests that build services by hand) stores the event unsigned: the dispatcher signs it before
it is published.
"""

from __future__ import annotations

import uuid
import weakref
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from tenantry.tenancy.events import envelope
from tenantry.tenancy.events.models import EventSequenceRow, OutboxRow
from tenantry.tenancy.events.schemas import Event
from tenantry.tenancy.events.signing import EventKeys, sign

_SIGNERS: weakref.WeakKeyDictionary[Engine, EventKeys] = weakref.WeakKeyDictionary()


def sign_with(engine: AsyncEngine, keys: EventKeys) -> None:
    """Sign every event emitted through ``engine``'s sessions with ``keys``' active key."""
    _SIGNERS[engine.sync_engine] = keys


def signer_of(session: AsyncSession) -> EventKeys | None:
    bind = session.sync_session.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine
    return _SIGNERS.get(engine)


async def emit(session: AsyncSession, event: Event, *, now: datetime) -> str:
    """Write ``event`` to the outbox in ``session``'s transaction; returns its id."""
    event_id = uuid.uuid4().hex
    seq = await _next_seq(session, event.tenant_id)
    body = envelope.build(event, event_id=event_id, seq=seq, now=now)
    keys = signer_of(session)
    if keys is not None:
        body = sign(body, keys.active())
    values = {
        "event_id": event_id,
        "tenant_id": event.tenant_id,
        "tenant_seq": seq,
        "type": event.type.value,
        "event": body,
        "created_at": now,
    }
    await session.execute(insert(OutboxRow), [values])
    return event_id


async def _next_seq(session: AsyncSession, tenant_id: str) -> int:
    """The tenant's next sequence number: one upsert, which holds the counter's row until the
    transaction ends (a concurrent emitter for the same tenant waits, then counts on)."""
    dialect = session.sync_session.get_bind().dialect.name
    make: Any = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = EventSequenceRow.__table__
    statement = (
        make(table)
        .values(tenant_id=tenant_id, last_seq=1)
        .on_conflict_do_update(
            index_elements=[table.c.tenant_id], set_={"last_seq": table.c.last_seq + 1}
        )
        .returning(table.c.last_seq)
    )
    return int((await session.execute(statement)).scalar_one())
