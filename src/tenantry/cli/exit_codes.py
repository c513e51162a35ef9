"""The one table from error kinds to process exit codes."""

from __future__ import annotations

from typing import Final

from tenantry.core.errors import ErrorKind

OK: Final = 0
USAGE: Final = 2  # Click's own code for bad command-line usage
INTEGRITY: Final = 9  # `audit verify`: a chain is broken (docs/audit.md)

BY_KIND: Final[dict[ErrorKind, int]] = {
    ErrorKind.INVALID: 1,
    ErrorKind.TOO_LARGE: 1,  # bad input too: the same input fails again
    ErrorKind.NOT_FOUND: 3,
    ErrorKind.CONFLICT: 4,  # also `up` on an address in use (serve.address_unavailable)
    ErrorKind.LOCKED: 7,  # a suspended or archived tenant
    ErrorKind.GONE: 8,  # a tenant being deleted, or deleted
    ErrorKind.UNAVAILABLE: 5,
    ErrorKind.UNAUTHENTICATED: 6,
    ErrorKind.FORBIDDEN: 6,
    ErrorKind.RATE_LIMITED: 5,  # like an unavailable dependency: try again later
    ErrorKind.INTERNAL: 70,
}
