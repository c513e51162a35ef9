"""Channels' inbound webhooks (Slack, Telegram, Microsoft Teams): verified with the channel's
own secret, then published on the channel's ingress like any user message."""
