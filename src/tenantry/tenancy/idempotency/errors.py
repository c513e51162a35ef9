"""Idempotency errors, each with a stable code (the API maps ``key_reused`` to 422)."""

from __future__ import annotations

from tenantry.core.errors import Conflict, InvalidInput


class IdempotencyKeyInvalid(InvalidInput):
    code = "idempotency.key_invalid"


class IdempotencyKeyReused(InvalidInput):
    """The key was already used, by this principal, for a different request."""

    code = "idempotency.key_reused"


class IdempotencyInProgress(Conflict):
    """A request with this key is running now; retry once it has finished."""

    code = "idempotency.in_progress"


class IdempotencyRecordUnreadable(Conflict):
    """The stored response no longer opens (its tenant key was retired or destroyed)."""

    code = "idempotency.record_unreadable"
