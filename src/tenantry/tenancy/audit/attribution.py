"""Who asked for a control-database change, handed to the service that makes it, so the
change and its audit record commit in one transaction (``log.append``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tenantry.tenancy.audit.schemas import AuditEntry, Outcome


@dataclass(frozen=True, slots=True)
class Attribution:
    """The actor, credential, action name, target and request HMAC of one change."""

    actor: str
    action: str
    target: str | None = None
    credential_id: str | None = None
    correlation_id: str | None = None
    request_hmac: str | None = None

    def entry(
        self,
        tenant_id: str | None,
        *,
        env_id: str | None = None,
        team_id: str | None = None,
        outcome: Outcome = Outcome.SUCCEEDED,
        details: Mapping[str, Any] | None = None,
    ) -> AuditEntry:
        """The record of the change, made on ``tenant_id``."""
        return AuditEntry(
            actor=self.actor,
            action=self.action,
            tenant_id=tenant_id,
            outcome=outcome,
            correlation_id=self.correlation_id,
            details=dict(details or {}),
            env_id=env_id,
            team_id=team_id,
            credential_id=self.credential_id,
            target=self.target,
            request_hmac=self.request_hmac,
        )
