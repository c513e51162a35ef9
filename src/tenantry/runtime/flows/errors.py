"""Flow errors, each with its kind (and so its HTTP status and exit code)."""

from __future__ import annotations

from tenantry.core.errors import Forbidden, InvalidInput, RateLimited, TenantryError, Unavailable


class FlowInvalid(InvalidInput):
    """A flow that cannot run (refused at validate and apply; the engine never sees one)."""

    code = "flow.invalid"


class FlowFailed(TenantryError):
    """A turn that could not finish: a template failed to render, the loop guard tripped..."""

    code = "flow.failed"


class EgressRefused(Forbidden):
    """A ``call`` or ``llm`` target the egress guard refuses (a private, loopback or
    link-local address, a bad scheme): refused before any connection."""

    code = "flow.egress_refused"


class CallFailed(Unavailable):
    """An HTTP ``call`` (or ``llm``) that did not answer, timed out or answered an error."""

    code = "flow.call_failed"


class AiTokensRefused(RateLimited):
    """The tenant's AI token cap is reached: ``llm`` calls are refused."""

    code = "flow.ai_tokens_refused"
