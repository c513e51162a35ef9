"""Which flow answers a channel: bindings and applied versions, read from the registry."""
