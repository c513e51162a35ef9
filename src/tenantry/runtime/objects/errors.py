"""Object errors, each with a stable code."""

from __future__ import annotations

from tenantry.core.errors import Conflict, InvalidInput, NotFound, TooLarge


class ObjectNotFound(NotFound):
    code = "object.not_found"


class ObjectTooLarge(TooLarge):
    code = "object.too_large"


class StoredObjectTooLarge(InvalidInput):
    """A stored object over what this process reads (a read, so no 413: nothing was sent)."""

    code = "object.too_large"


class ObjectKeyInvalid(InvalidInput):
    code = "object_key.invalid"


class CursorInvalid(InvalidInput):
    code = "object.cursor_invalid"


class ContentTypeInvalid(InvalidInput):
    code = "object.content_type_invalid"


class ObjectCorrupt(InvalidInput):
    """Stored bytes that decrypt but are not a well-formed object record."""

    code = "object.corrupt"


class PreconditionFailed(Conflict):
    """The object is not as the change required (it moved on, is absent, or exists): the
    same code as the API's own precondition failures, so it is a 412 there too."""

    code = "precondition.failed"
