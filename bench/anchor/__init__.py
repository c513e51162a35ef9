"""The django-tenants anchor: its own project, run in its own environment (bench/.venv-anchor)."""
