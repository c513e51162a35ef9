"""Provider webhook errors, each with its kind (and so its HTTP status)."""

from __future__ import annotations

from tenantry.core.errors import InvalidInput, Unauthenticated, Unavailable


class HookSignatureInvalid(Unauthenticated):
    """No valid signature of the channel's secret (or no such channel, or no secret)."""

    code = "hook.signature_invalid"


class HookStale(Unauthenticated):
    """A signed request outside the provider's timestamp window (a replay, or a bad clock)."""

    code = "hook.stale"


class HookBodyInvalid(InvalidInput):
    code = "hook.body_invalid"


class ProviderUnavailable(Unavailable):
    """The provider's API failed or refused a send (retried with backoff)."""

    code = "provider.unavailable"
