"""Error kinds and stable codes.

Every error Tenantry raises on purpose is a :class:`TenantryError` with a *kind* (which decides
the HTTP status, the CLI exit code and whether a retry may help) and a stable dotted *code*
(``tenant.not_found``) that clients may match on. The two tables that map kinds outward live
with their adapters (``api/problems.py``, ``cli/exit_codes.py``).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any


class ErrorKind(enum.Enum):
    INVALID = "invalid"  # the caller sent something malformed; retrying the same input fails
    TOO_LARGE = "too_large"  # the input is over a size limit; retrying the same input fails
    NOT_FOUND = "not_found"
    CONFLICT = "conflict"  # the input is fine but clashes with the current state
    LOCKED = "locked"  # the target exists but is frozen (a suspended or archived tenant)
    GONE = "gone"  # the target is being deleted or was deleted, and will not come back
    UNAUTHENTICATED = "unauthenticated"
    FORBIDDEN = "forbidden"
    UNAVAILABLE = "unavailable"  # a dependency is down; a retry may succeed (transient)
    RATE_LIMITED = "rate_limited"  # too many requests now; a retry after the hint may succeed
    INTERNAL = "internal"

    @property
    def transient(self) -> bool:
        return self in {ErrorKind.UNAVAILABLE, ErrorKind.RATE_LIMITED}


class TenantryError(Exception):
    """Base of every deliberate Tenantry error."""

    kind: ErrorKind = ErrorKind.INTERNAL
    code: str = "internal.error"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details: dict[str, Any] = dict(details or {})


class InvalidInput(TenantryError):
    kind = ErrorKind.INVALID
    code = "input.invalid"


class TooLarge(InvalidInput):
    """Input over a size limit. Its message gives the size sent and the limit exceeded (and
    says so when the limit counts stored, sealed bytes); ``details`` has ``size`` and
    ``limit`` where known."""

    kind = ErrorKind.TOO_LARGE
    code = "input.too_large"


class NotFound(TenantryError):
    kind = ErrorKind.NOT_FOUND
    code = "resource.not_found"


class Conflict(TenantryError):
    kind = ErrorKind.CONFLICT
    code = "resource.conflict"


class Locked(TenantryError):
    kind = ErrorKind.LOCKED
    code = "resource.locked"


class Gone(TenantryError):
    kind = ErrorKind.GONE
    code = "resource.gone"


class Unauthenticated(TenantryError):
    kind = ErrorKind.UNAUTHENTICATED
    code = "auth.unauthenticated"


class Forbidden(TenantryError):
    kind = ErrorKind.FORBIDDEN
    code = "auth.forbidden"


class Unavailable(TenantryError):
    kind = ErrorKind.UNAVAILABLE
    code = "dependency.unavailable"


class RateLimited(TenantryError):
    """Refused for now: ``retry_after`` seconds until a retry may pass; ``headers`` are the
    limit's ``RateLimit-*`` fields, which the API sends with the refusal."""

    kind = ErrorKind.RATE_LIMITED
    code = "rate.limited"

    def __init__(
        self,
        message: str,
        *,
        retry_after: float,
        headers: Mapping[str, str] | None = None,
        code: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message, code=code, details=details)
        self.retry_after = retry_after
        self.headers: dict[str, str] = dict(headers or {})
