"""The key space of one tenant environment.

Keys come only from :func:`tenantry.core.names.state_key`, and the prefixes used by bulk deletes
from :func:`tenantry.core.names.state_prefix`.

Built keys are memoised process-wide: validating four ids costs more than a JSON encode on the
hot path. Only exact ``str`` (or ``None``) arguments are memoised and a failed check is never
cached, so every id still passes the builder's validation before its first use.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from tenantry.core import ids, names

_MEMOISED_KEYS = 8192


@functools.lru_cache(maxsize=_MEMOISED_KEYS)
def _memoised_key(tenant: str, env: str, team: str | None, session: str) -> str:
    return names.state_key(tenant, env, team, session)


@dataclass(frozen=True, slots=True)
class StateKeys:
    """Builds the keys of exactly one ``(tenant, env)``; ids are checked on every call."""

    tenant_id: ids.TenantId
    env_id: ids.EnvId

    def __post_init__(self) -> None:
        ids.tenant_id(self.tenant_id)
        ids.env_id(self.env_id)

    @classmethod
    def of(cls, tenant_id: str, env_id: str) -> StateKeys:
        return cls(ids.tenant_id(tenant_id), ids.env_id(env_id))

    def key(self, team: str | None, session: str) -> str:
        """``state:{tenant}:{env}:{team|default}:{session}``."""
        # Exact types only: a str subclass could hash and compare like another id.
        if (team is None or type(team) is str) and type(session) is str:
            return _memoised_key(self.tenant_id, self.env_id, team, session)
        return names.state_key(self.tenant_id, self.env_id, team, session)

    def team_prefix(self, team: str | None) -> str:
        """``state:{tenant}:{env}:{team|default}:`` — every session key of one team."""
        return names.state_prefix(self.tenant_id, self.env_id, team)

    def env_prefix(self) -> str:
        """``state:{tenant}:{env}:`` — every key of this tenant environment."""
        return names.state_prefix(self.tenant_id, self.env_id, every_team=True)

    def ledger(self) -> tuple[str, str]:
        """The quota ledger's keys on Redis: ``state-sizes:...`` and ``state-expiry:...``."""
        return names.state_ledger(self.tenant_id, self.env_id)

    def member(self, key: str) -> str:
        """A key's name in the ledger: ``{team}:{session}``, the key after the env prefix."""
        prefix = self.env_prefix()
        if not key.startswith(prefix):
            raise ValueError(f"{key!r} is not a key of {prefix!r}")
        return key[len(prefix) :]

    def entry(self, key: str) -> tuple[ids.TeamId, ids.SessionId]:
        """The team and session of one of this tenant environment's keys."""
        tenant, env, team, session = names.parse_state_key(key)
        if (tenant, env) != (self.tenant_id, self.env_id):
            raise ValueError(f"{key!r} is not a key of {self.env_prefix()!r}")
        return team, session

    def owns(self, key: str) -> bool:
        """Whether ``key`` is a well-formed key of this tenant environment."""
        try:
            tenant, env, _, _ = names.parse_state_key(key)
        except names.UnparseableName:
            return False
        return (tenant, env) == (self.tenant_id, self.env_id)
