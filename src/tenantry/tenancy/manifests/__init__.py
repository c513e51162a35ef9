"""Declarative manifests: tenant, team, flow and bundle definitions, loaded from YAML."""
