"""Tenant schema migrations: one Alembic tree applied to every tenant environment's data."""
