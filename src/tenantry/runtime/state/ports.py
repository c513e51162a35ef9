"""The state store port: a tenant environment's working memory, keyed by team and session."""

from __future__ import annotations

from typing import Protocol

from tenantry.core.ids import EnvId, SessionId, TeamId, TenantId
from tenantry.runtime.quota import UNLIMITED, StorageQuota
from tenantry.runtime.state.values import DEFAULT_MAX_VALUE_BYTES, JsonInput, JsonValue


class StateStore(Protocol):
    """JSON values under ``state:{tenant}:{env}:{team|default}:{session}``, bound to one
    ``(tenant, env)`` at construction.

    ``team=None`` is the ``default`` team. Team and session ids are validated on every call
    (:class:`~tenantry.core.ids.InvalidId`, code ``id.invalid``) before anything is read or
    written, so no argument can reach another tenant's keys.
    """

    @property
    def tenant_id(self) -> TenantId: ...

    @property
    def env_id(self) -> EnvId: ...

    @property
    def max_value_bytes(self) -> int: ...

    async def get(self, team: str | None, session: str) -> JsonValue | None:
        """The value, or ``None`` when there is none (absent or expired)."""
        ...

    async def set(
        self, team: str | None, session: str, value: JsonInput, *, ttl: float | None = None
    ) -> None:
        """Store ``value`` (not ``null``), replacing any previous value and its expiry.

        ``ttl`` is in seconds; ``None`` keeps the value until deleted. Raises
        ``state.value_invalid``, ``state.too_large``, ``state.ttl_invalid``, the quota's
        ``quota.exceeded`` / ``quota.too_large`` or ``state.busy`` with nothing written.
        """
        ...

    async def delete(self, team: str | None, session: str) -> bool:
        """Delete one session's value; ``True`` if there was one."""
        ...

    async def ttl(self, team: str | None, session: str) -> float | None:
        """Seconds left before expiry; ``None`` when the value never expires.

        Raises :class:`~tenantry.runtime.state.errors.StateNotFound` when there is no value.
        """
        ...

    async def entries(self) -> list[tuple[TeamId, SessionId]]:
        """The team and session of every live value of this tenant environment, sorted (for
        lifecycle jobs: an archive's export)."""
        ...

    async def clear_team(self, team: str | None) -> int:
        """Delete every session's value of one team of this tenant environment; the count."""
        ...

    async def clear(self) -> int:
        """Delete every value of this tenant environment (all teams); the count."""
        ...


class StateBackend(Protocol):
    """A process-wide state backend (one SQLite file, one Redis pool) handing out stores."""

    def bind(
        self,
        tenant_id: str,
        env_id: str,
        *,
        max_value_bytes: int = DEFAULT_MAX_VALUE_BYTES,
        quota: StorageQuota = UNLIMITED,
    ) -> StateStore:
        """A store confined to ``(tenant_id, env_id)`` that counts its values against
        ``quota`` (see ``accounting``); cheap, so one per scope is fine."""
        ...

    async def aclose(self) -> None:
        """Release connections this backend opened itself."""
        ...
