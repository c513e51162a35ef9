"""Secrets in the control database: the records behind ``tenantry.runtime.secrets``."""
