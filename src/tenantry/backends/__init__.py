"""Concrete backends implementing the ports of tenancy and runtime (chosen in bootstrap)."""
