"""A command group that imports a command's module only when that command runs.

``tenantry --help``, ``--version`` and Tab completion read each command's name and one-line
help from the table, so they import none of the commands (nor the service stack they use).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from functools import cached_property
from typing import Any, ClassVar

import typer
from typer import _click as click  # Typer ships its own Click; its groups hold these commands
from typer.core import TyperCommand, TyperGroup

PACKAGE = "tenantry.cli.commands"


@dataclass(frozen=True)
class Entry:
    """``target`` is ``module:attribute`` in :data:`PACKAGE`: a command function or a Typer.

    ``help`` is its first help line, as the command's docstring (or Typer help) says it.
    """

    target: str
    help: str


class Deferred(TyperCommand):
    """Stands for a command in listings; parsing its arguments loads the real one."""

    def __init__(self, name: str, entry: Entry) -> None:
        super().__init__(name, help=entry.help, short_help=entry.help)
        self.entry = entry

    @cached_property
    def loaded(self) -> click.Command:
        module, attribute = self.entry.target.split(":")
        target = getattr(importlib.import_module(f"{PACKAGE}.{module}"), attribute)
        if isinstance(target, typer.Typer):
            return typer.main.get_group(target)
        single = typer.Typer(add_completion=False)
        single.command(self.name)(target)
        return typer.main.get_command(single)

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        return self.loaded.make_context(info_name, args, parent=parent, **extra)


class LazyGroup(TyperGroup):
    """The root group: its ``table`` names every deferred command, in help order."""

    table: ClassVar[dict[str, Entry]] = {}

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        for name, entry in self.table.items():
            self.commands[name] = Deferred(name, entry)


def group(table: dict[str, Entry]) -> type[LazyGroup]:
    """A :class:`LazyGroup` class over ``table``, for ``typer.Typer(cls=...)``."""
    return type("TenantryGroup", (LazyGroup,), {"table": table})
