"""The policies table (registered on the registry's metadata): what bundles defined, by name."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from tenantry.tenancy.registry.models import Base

__all__ = ["Base", "PolicyRow"]


class PolicyRow(Base):
    """A policy a bundle defined (only what it sets); never removed while tenants may name it."""

    __tablename__ = "policies"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    spec: Mapped[dict[str, Any]]
    source: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime]
