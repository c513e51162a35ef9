"""What the engine asks of the platform: the tenant's settings and its AI token meter.

The runtime may not import the control plane; ``tenancy.flows.wiring`` implements these."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from tenantry.runtime.flows.errors import AiTokensRefused


class TenantSettings(Protocol):
    async def get(self, tenant_id: str) -> Mapping[str, Any]:
        """The tenant's ``settings`` (its manifest's), read-only."""
        ...


class TokenMeter(Protocol):
    async def remaining(self, tenant_id: str) -> int:
        """AI tokens the tenant may still spend this period."""
        ...

    async def charge(self, tenant_id: str, amount: int, *, key: str) -> None:
        """Charge ``amount`` tokens once per ``key``; :class:`AiTokensRefused` past the cap."""
        ...


class NoSettings:
    async def get(self, tenant_id: str) -> Mapping[str, Any]:
        return {}


class NoTokens:
    """No meter wired: every ``llm`` call is refused (a process without the control plane)."""

    async def remaining(self, tenant_id: str) -> int:
        return 0

    async def charge(self, tenant_id: str, amount: int, *, key: str) -> None:
        raise AiTokensRefused("no AI token meter is configured", retry_after=3600.0)
