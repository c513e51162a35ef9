"""Messaging errors, each with its kind (and so its HTTP status and exit code)."""

from __future__ import annotations

from tenantry.core.errors import InvalidInput, RateLimited, Unavailable


class EnvelopeInvalid(InvalidInput):
    """A message that is not a valid envelope (on publish, or as received)."""

    code = "message.invalid"


class EnvelopeMismatch(InvalidInput):
    """An envelope whose ids disagree with its subject's: refused, dead-lettered, audited."""

    code = "message.subject_mismatch"


class TenantBusFull(RateLimited):
    """The tenant's share of its stream is full: publishing is refused, never silently
    discarded (429 with ``Retry-After``)."""

    code = "messaging.tenant_full"


class BusUnavailable(Unavailable):
    code = "messaging.unavailable"
