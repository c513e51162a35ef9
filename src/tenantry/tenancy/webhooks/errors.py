"""Webhook errors, each with its kind and stable code."""

from __future__ import annotations

from tenantry.core.errors import Gone, InvalidInput, NotFound


class EndpointNotFound(NotFound):
    """Another owner's endpoint is answered like a missing one."""

    code = "webhook.not_found"


class DeliveryNotFound(NotFound):
    code = "webhook.delivery_not_found"


class EventExpired(Gone):
    """A replay of a delivery whose event the outbox no longer holds."""

    code = "webhook.event_expired"


class BadUrl(InvalidInput):
    code = "webhook.url_invalid"


class BadFilter(InvalidInput):
    code = "webhook.filter_invalid"


class BadReplay(InvalidInput):
    code = "webhook.replay_invalid"


class TooManyEndpoints(InvalidInput):
    code = "webhook.too_many"
