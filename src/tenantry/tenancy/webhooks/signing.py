"""Standard Webhooks headers of a delivery (pure): ``webhook-id``, ``webhook-timestamp``,
``webhook-signature`` (one ``v1,`` HMAC-SHA256 per signing secret, space-separated) and the
event's per-tenant ``webhook-sequence``. Signed with the reference library's ``Webhook.sign``.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Sequence
from datetime import datetime
from typing import Final

from standardwebhooks.webhooks import Webhook

PREFIX: Final = "whsec_"
SECRET_BYTES: Final = 32
CONTENT_TYPE: Final = "application/cloudevents+json"


def new_secret() -> str:
    """A fresh signing secret, in the form the Standard Webhooks libraries read."""
    return PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def headers(
    *,
    message_id: str,
    body: str,
    signing: Sequence[str],
    sequence: int,
    tenant: str,
    at: datetime,
) -> dict[str, str]:
    """The headers of one attempt: ``signing`` holds every secret that signs now (the newest
    first; during a rotation's overlap the old one too)."""
    signatures = " ".join(Webhook(secret).sign(message_id, at, body) for secret in signing)
    return {
        "content-type": CONTENT_TYPE,
        "webhook-id": message_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signatures,
        "webhook-sequence": str(sequence),
        "webhook-tenant": tenant,
    }
