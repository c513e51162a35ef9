"""Secret errors: each a kind from ``core.errors`` with a stable code."""

from __future__ import annotations

from tenantry.core.errors import Conflict, InvalidInput, NotFound, TooLarge


class SecretNotFound(NotFound):
    """No such secret (or version) in the store's scope; another tenant's looks the same."""

    code = "secret.not_found"


class SecretTooLarge(TooLarge):
    code = "secret.too_large"


class SecretValueInvalid(InvalidInput):
    code = "secret.value_invalid"


class SecretVersionInvalid(InvalidInput):
    code = "secret.version_invalid"


class SecretKeyInUse(Conflict):
    """A key version still wraps some secret version; re-wrap (rotate) before retiring it."""

    code = "secret.key_in_use"


class SecretKeyNotFound(NotFound):
    code = "secret.key_not_found"


class SecretOwnerNotFound(NotFound):
    """The store's tenant is not in the registry, so its secrets have nowhere to live."""

    code = "tenant.not_found"
