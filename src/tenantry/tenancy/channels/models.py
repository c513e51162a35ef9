"""``egress_sends``: the replies already sent to a provider, per tenant environment, so a reply
published again after the bus's deduplication window (a redelivered message the runner
answers again with the same ids) is not sent twice. Rows older than a day are pruned."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from tenantry.tenancy.registry.models import Base


class EgressSendRow(Base):
    __tablename__ = "egress_sends"
    __table_args__ = (Index("ix_egress_sends_sent_at", "sent_at"),)

    tenant_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    env_id: Mapped[str] = mapped_column(String(16), primary_key=True)
    message_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    sent_at: Mapped[datetime]
