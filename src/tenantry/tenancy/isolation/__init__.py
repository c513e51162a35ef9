"""Isolation strategies: pure maps from a tenant environment to where its resources live."""
