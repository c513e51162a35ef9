"""Process settings, read from ``TENANTRY_*`` environment variables (and a ``.env`` file)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TENANTRY_", env_file=".env", extra="ignore")

    data_dir: Path = Field(
        default=Path(".tenantry"), description="Where the embedded backends keep their files."
    )
    database_url: str | None = Field(
        default=None,
        description="The control database; unset means a SQLite file under data_dir.",
    )
    admin_token: SecretStr | None = Field(
        default=None,
        description="Bearer token of the platform admin for the admin API (until access lands).",
    )
    log_level: str = "INFO"
    log_format: Literal["json", "console"] = "console"
    subject_prefix: str = "greentic.messaging"
    resync_seconds: float = Field(default=30.0, gt=0)

    def control_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'control.sqlite3').resolve()}"
