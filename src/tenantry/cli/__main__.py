"""``python -m tenantry.cli``: the same as the ``tenantry`` command."""

from tenantry.cli.main import app

app(prog_name="tenantry")
