"""The attribution of a CLI write: the operating-system user who ran the command (``cli:``
and the user name, as tokens issued by the CLI name it), for the record the service appends
in the change's transaction (docs/audit.md)."""

from __future__ import annotations

from tenantry.tenancy.audit.attribution import Attribution


def by_operator(action: str, target: str | None = None) -> Attribution:
    from tenantry.cli.commands.tokens import default_principal  # noqa: PLC0415 (lazy CLI)

    return Attribution(actor=default_principal(), action=action, target=target)


def transition_action(kind: str) -> str:
    """A lifecycle transition's action, named as the API names it (``tenant.rotate_keys``)."""
    return f"tenant.{kind.replace('-', '_')}"
