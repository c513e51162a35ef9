"""Runners: worker pools that consume tenants' ingress, run their flows and publish replies."""
