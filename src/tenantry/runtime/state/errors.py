"""Errors of the state store (working memory), each with a stable code."""

from __future__ import annotations

from tenantry.core.errors import Conflict, InvalidInput, NotFound, TenantryError, TooLarge


class StateValueInvalid(InvalidInput):
    """A value that is not plain JSON (NaN, infinity, a set, a non-string key, ...)."""

    code = "state.value_invalid"


class StateTooLarge(TooLarge):
    """An encoded value over the tenant's size cap; nothing was written."""

    code = "state.too_large"


class StateTtlInvalid(InvalidInput):
    code = "state.ttl_invalid"


class StateNotFound(NotFound):
    """No live entry under that key (absent, expired, or never this tenant's)."""

    code = "state.not_found"


class StateBusy(Conflict):
    """A write overtaken by other writers of the same key every time it tried; nothing was
    written by it."""

    code = "state.busy"


class StateCorrupt(TenantryError):
    """Stored bytes that do not decode as JSON: written behind the store's back."""

    code = "state.corrupt"
