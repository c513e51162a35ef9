"""The one tenant context (DESIGN.md section 1).

Every tenant-scoped function takes a :class:`TenantCtx` as its first positional parameter. Only the
access layer (token -> principal -> context) and the worker (job or message -> context, checked
again against the registry) construct one; everything else receives it. The ids are validated on
construction, so holding a context means holding well-formed ids.
"""

from __future__ import annotations

from dataclasses import dataclass

from tenantry.core import ids


@dataclass(frozen=True, slots=True, kw_only=True)
class TenantCtx:
    tenant_id: ids.TenantId
    env_id: ids.EnvId
    team_id: ids.TeamId | None = None
    user_id: str | None = None
    session_id: ids.SessionId | None = None
    correlation_id: str | None = None

    def __post_init__(self) -> None:
        ids.tenant_id(self.tenant_id)
        ids.env_id(self.env_id)
        if self.team_id is not None:
            ids.team_id(self.team_id)
        if self.session_id is not None:
            ids.session_id(self.session_id)

    @property
    def team(self) -> ids.TeamId:
        """The team, with ``default`` standing for none."""
        return self.team_id if self.team_id is not None else ids.DEFAULT_TEAM

    def log_fields(self) -> dict[str, str]:
        fields = {"tenant_id": self.tenant_id, "env": self.env_id, "team": self.team}
        if self.correlation_id is not None:
            fields["correlation_id"] = self.correlation_id
        return fields
