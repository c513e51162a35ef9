"""Control-database tables of access (registered on the registry's metadata)."""

from __future__ import annotations

from tenantry.tenancy.registry.models import Base

__all__ = ["Base"]
