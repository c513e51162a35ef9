"""Object errors, each with a stable code."""

from __future__ import annotations

from tenantry.core.errors import InvalidInput, NotFound


class ObjectNotFound(NotFound):
    code = "object.not_found"


class ObjectTooLarge(InvalidInput):
    code = "object.too_large"


class ObjectKeyInvalid(InvalidInput):
    code = "object_key.invalid"


class CursorInvalid(InvalidInput):
    code = "object.cursor_invalid"
