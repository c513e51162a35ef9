"""Dead letters: messages the runner gives up on, kept on the tenant's dead-letter subject.

A dead letter is JSON: why (``reason``, ``error``), where it came from (``subject``, the
delivery ``attempt``) and the original bytes (``data``, base64), published on
``names.dead_letter_subject`` of its subject (the same ids under ``deadletter``) and then
terminated. A message refused for what it is (not an envelope, or one whose ids disagree with
its subject) is also audited: it was sent by someone who may not have been its tenant.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Awaitable, Callable

from tenantry.core import ids, names
from tenantry.core.errors import TenantryError
from tenantry.core.logging import get_logger
from tenantry.runtime.messaging.envelope import Envelope
from tenantry.runtime.messaging.ports import Bus, Delivery
from tenantry.tenancy.audit.schemas import AuditEntry, Outcome

log = get_logger(__name__)
ACTOR = "worker"

Audit = Callable[[AuditEntry], Awaitable[None]]


def dead_letter_id(subject: str, data: bytes) -> ids.MessageId:
    """The same for every delivery of one message: a dead letter is stored once."""
    digest = hashlib.sha256(subject.encode() + b"\0" + data).hexdigest()
    return ids.message_id(f"dl-{digest[:40]}")


class DeadLetters:
    def __init__(self, bus: Bus, audit: Audit) -> None:
        self._bus, self._audit = bus, audit

    async def refuse(self, delivery: Delivery, error: TenantryError) -> None:
        """Dead-letter and audit a message that is not what its subject says."""
        tenant = _tenant_of(delivery.subject, self._bus.prefix)
        await self._publish(delivery, error)
        await delivery.term()
        await self._audit(
            AuditEntry(
                actor=ACTOR,
                action="message.refuse",
                tenant_id=tenant,
                outcome=Outcome.DENIED,
                details={"subject": delivery.subject, "code": error.code, "error": error.message},
            )
        )

    async def give_up(self, delivery: Delivery, message: Envelope, error: Exception) -> None:
        """Dead-letter a message whose processing cannot succeed (or failed too often)."""
        log.warning(
            "runner.dead_letter",
            message_id=message.message_id,
            tenant_id=message.tenant_id,
            attempt=delivery.attempt,
            error=str(error),
        )
        await self._publish(delivery, error)
        await delivery.term()

    async def _publish(self, delivery: Delivery, error: Exception) -> None:
        code = error.code if isinstance(error, TenantryError) else type(error).__name__
        letter = {
            "v": 1,
            "reason": code,
            "error": error.message if isinstance(error, TenantryError) else str(error),
            "subject": delivery.subject,
            "attempt": delivery.attempt,
            "data": base64.b64encode(delivery.data).decode(),
        }
        subject = names.dead_letter_subject(delivery.subject, prefix=self._bus.prefix)
        body = json.dumps(letter).encode()
        await self._bus.publish(
            subject, body, message_id=dead_letter_id(delivery.subject, delivery.data)
        )


def _tenant_of(subject: str, prefix: str) -> str:
    return names.parse_subject(subject, prefix=prefix)[1]
