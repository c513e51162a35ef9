"""The policy registry: residency, encryption, retention and plan checks before every change."""
