"""Session errors, each with a stable code."""

from __future__ import annotations

from tenantry.core.errors import Conflict, InvalidInput, NotFound, TooLarge


class SessionNotFound(NotFound):
    code = "session.not_found"


class SessionExists(Conflict):
    code = "session.exists"


class RevisionMismatch(Conflict):
    code = "session.revision_mismatch"


class SessionCorrupt(InvalidInput):
    """Stored bytes that decrypt but are not a well-formed session record."""

    code = "session.corrupt"


class SessionTooLarge(TooLarge):
    code = "session.too_large"


class StoredSessionTooLarge(InvalidInput):
    """A stored record over what this process reads (a read, so no 413: nothing was sent)."""

    code = "session.too_large"


class SessionInvalid(InvalidInput):
    """A session field the caller supplied is malformed (types, depth, non-finite numbers)."""

    code = "session.invalid"


class CursorInvalid(InvalidInput):
    code = "session.cursor_invalid"
