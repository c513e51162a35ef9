"""What every command shares and that must stay cheap to import: the root options and ``-o``."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from tenantry.core.settings import Settings


class Output(enum.StrEnum):
    TABLE = "table"
    JSON = "json"
    YAML = "yaml"


OutputOption = Annotated[Output, typer.Option("-o", "--output", help="Output format.")]


@dataclass
class Root:
    """The root command's options; settings are read when a command first needs them."""

    database_url: str | None = None
    data_dir: Path | None = None
    _settings: Settings | None = field(default=None, repr=False)

    def settings(self) -> Settings:
        if self._settings is None:
            from tenantry.cli import runner  # noqa: PLC0415 - settings load only when used

            overrides: dict[str, Any] = {}
            if self.database_url:
                overrides["database_url"] = self.database_url
            if self.data_dir is not None:
                overrides["data_dir"] = self.data_dir
            self._settings = runner.load_settings(overrides)
        return self._settings
