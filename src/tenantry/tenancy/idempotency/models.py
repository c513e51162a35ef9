"""Control-database tables of idempotency (registered on the registry's metadata)."""

from __future__ import annotations

from tenantry.tenancy.registry.models import Base

__all__ = ["Base"]
