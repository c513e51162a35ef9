"""Flows: a tenant's conversation programs, run one turn per user message in its session."""
