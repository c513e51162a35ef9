"""Provider channels (Slack, Telegram, Microsoft Teams): each provider's request verification,
its inbound events as user messages, and its outbound reply call. Pure: no I/O here."""

from __future__ import annotations

from typing import Final

from tenantry.runtime.messaging.providers import slack, teams, telegram
from tenantry.runtime.messaging.providers.schemas import Provider

PROVIDERS: Final[dict[str, Provider]] = {
    "slack": slack.SLACK,
    "messaging-slack": slack.SLACK,
    "telegram": telegram.TELEGRAM,
    "messaging-telegram": telegram.TELEGRAM,
    "teams": teams.TEAMS,
    "messaging-teams": teams.TEAMS,
}
WEBCHAT: Final = frozenset({"webchat", "messaging-webchat"})


def provider_of(name: str) -> Provider | None:
    """The provider a channel's ``provider`` field names (None: webchat or unknown)."""
    return PROVIDERS.get(name)
