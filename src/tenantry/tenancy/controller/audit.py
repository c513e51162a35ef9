"""The controller's audit records: what a reconcile is about to create or adopt, appended in
the transaction that records it as owned, and a reconcile that failed after acting."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.tenancy.audit import log as audit_log
from tenantry.tenancy.audit.schemas import AuditEntry, Outcome
from tenantry.tenancy.controller.plan import Step

ACTOR: Final = "controller"
ACTION: Final = "controller.provision"


async def acting(
    session: AsyncSession, tenant_id: str, steps: Sequence[Step], *, now: datetime
) -> None:
    """Record the steps that change resources or their holdings, before they run."""
    await audit_log.append(session, [_entry(tenant_id, steps, Outcome.SUCCEEDED)], now=now)


async def failed(
    session: AsyncSession, tenant_id: str, steps: Sequence[Step], message: str, *, now: datetime
) -> None:
    """Record a reconcile that acted and then failed (it is retried or waits for a change);
    nothing for one that had nothing to do."""
    if not any(s.acts for s in steps):
        return
    entry = _entry(tenant_id, steps, Outcome.FAILED, error=message)
    await audit_log.append(session, [entry], now=now)


def _entry(tenant_id: str, steps: Sequence[Step], outcome: Outcome, **extra: str) -> AuditEntry:
    details = {"steps": [str(s) for s in steps if s.acts], **extra}
    return AuditEntry(ACTOR, ACTION, tenant_id, outcome, details=details, target=tenant_id)
