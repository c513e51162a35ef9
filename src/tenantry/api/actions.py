"""The stable audit action name of every write route (docs/audit.md, "What is recorded").

A name is ``resource.verb``, derived from the route's operation and kept stable when the path
changes. ``in_transaction`` routes change the control database and have their success recorded
by their service, in the change's own transaction; the audit layer (:mod:`tenantry.api.audited`)
records their refusals and failures, and every outcome of the other routes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True, slots=True)
class WriteAction:
    name: str
    in_transaction: bool = False


_TENANT: Final = "/api/v1/tenants/{tenant_id}"
_SESSION: Final = "/api/v1/sessions/{session_id}"
_WEBHOOK: Final = "/api/v1/webhooks/{webhook_id}"
WRITES: Final[dict[str, WriteAction]] = {
    "POST /api/v1/tenants": WriteAction("tenant.create", in_transaction=True),
    f"PUT {_TENANT}": WriteAction("tenant.replace", in_transaction=True),
    f"POST {_TENANT}/suspend": WriteAction("tenant.suspend", in_transaction=True),
    f"POST {_TENANT}/resume": WriteAction("tenant.resume", in_transaction=True),
    f"POST {_TENANT}/archive": WriteAction("tenant.archive", in_transaction=True),
    f"POST {_TENANT}/restore": WriteAction("tenant.restore", in_transaction=True),
    f"POST {_TENANT}/rotate-keys": WriteAction("tenant.rotate_keys", in_transaction=True),
    f"DELETE {_TENANT}": WriteAction("tenant.delete", in_transaction=True),
    "POST /api/v1/jobs/{job_id}/cancel": WriteAction("job.cancel", in_transaction=True),
    "POST /api/v1/jobs/{job_id}/retry": WriteAction("job.retry", in_transaction=True),
    # the access service records these in the change's transaction (token.issue, ...)
    "POST /api/v1/tokens": WriteAction("token.issue", in_transaction=True),
    "DELETE /api/v1/tokens/{jti}": WriteAction("token.revoke", in_transaction=True),
    "POST /api/v1/api-keys": WriteAction("api_key.create", in_transaction=True),
    "DELETE /api/v1/api-keys/{key_id}": WriteAction("api_key.revoke", in_transaction=True),
    "POST /api/v1/sessions": WriteAction("session.create"),
    f"PUT {_SESSION}": WriteAction("session.replace"),
    f"PATCH {_SESSION}": WriteAction("session.update"),
    f"DELETE {_SESSION}": WriteAction("session.delete"),
    "PUT /api/v1/state/{session_id}": WriteAction("state.put"),
    "DELETE /api/v1/state/{session_id}": WriteAction("state.delete"),
    "POST /api/v1/secrets/rotate-key": WriteAction("secrets.rotate_key"),
    "PUT /api/v1/secrets/{name}": WriteAction("secret.put"),
    "DELETE /api/v1/secrets/{name}": WriteAction("secret.delete"),
    "PUT /api/v1/objects/{key}": WriteAction("object.put"),
    "DELETE /api/v1/objects/{key}": WriteAction("object.delete"),
    "POST /api/v1/search/documents": WriteAction("search_document.index"),
    "DELETE /api/v1/search/documents/{doc_id}": WriteAction("search_document.delete"),
    "POST /api/v1/channels/{channel_id}/messages": WriteAction("channel_message.send"),
    "POST /api/v1/channels/{channel_id}/visitors": WriteAction("visitor.mint", in_transaction=True),
    "POST /hooks/{tenant_id}/{env_id}/{team_id}/{channel_id}": WriteAction("hook.receive"),
    # the webhook service records these in the change's transaction
    "POST /api/v1/webhooks": WriteAction("webhook.add", in_transaction=True),
    f"DELETE {_WEBHOOK}": WriteAction("webhook.remove", in_transaction=True),
    f"POST {_WEBHOOK}/rotate": WriteAction("webhook.rotate", in_transaction=True),
    f"POST {_WEBHOOK}/replay": WriteAction("webhook.replay", in_transaction=True),
}
READ_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS"})


def write_action(method: str, template: str) -> WriteAction:
    """The route's action; a write route missing from :data:`WRITES` (a test fails for it)
    is still recorded, under ``METHOD /template``."""
    label = f"{method} {template}"
    return WRITES.get(label) or WriteAction(label)
