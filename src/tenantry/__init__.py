"""Tenantry: a multi-tenancy platform for Python."""

__version__ = "0.1.0"
