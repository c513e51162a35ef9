"""Run the tenant migration tree against one target (synchronous; callers use threads)."""

from __future__ import annotations

import io
import threading
from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.pool import NullPool

from tenantry.tenancy.schema.targets import Target

TREE = Path(__file__).with_name("tree")
# Alembic's `context` and `op` are process-wide proxies: one migration at a time per process.
_ALEMBIC = threading.Lock()
# Every tenant environment's data names its owner; a copy in another tenant's space shows.
CLAIM = "INSERT INTO tenantry_identity (tenant_id, env_id) VALUES (:t, :e) ON CONFLICT DO NOTHING"


def render(tree: Path, start: str | None) -> str:
    """PostgreSQL SQL that upgrades a tenant schema from ``start`` (None: empty) to head."""
    buffer = io.StringIO()
    config = Config(output_buffer=buffer)
    config.set_main_option("script_location", str(tree))
    with _ALEMBIC:
        command.upgrade(config, f"{start}:head" if start else "head", sql=True)
    return buffer.getvalue()


def head(tree: Path = TREE) -> str:
    config = Config()
    config.set_main_option("script_location", str(tree))
    revision = ScriptDirectory.from_config(config).get_current_head()
    if revision is None:
        raise RuntimeError(f"the migration tree {tree} has no revision")
    return revision


class Runner:
    """Upgrades targets to head, one engine per database URL, reused across targets."""

    def __init__(self, tree: Path = TREE) -> None:
        self.tree = tree
        self._engines: dict[str, Engine] = {}

    def _engine(self, url: str) -> Engine:
        if url not in self._engines:
            pooling = {"poolclass": NullPool} if url.startswith("sqlite") else {"pool_size": 4}
            self._engines[url] = create_engine(url, **pooling)
        return self._engines[url]

    def upgrade(self, target: Target, revision: str = "head") -> str:
        """Bring one target to head (or to ``revision``); returns the revision it is at."""
        self._run(target, command.upgrade, revision)
        return head(self.tree) if revision == "head" else revision

    def downgrade(self, target: Target, revision: str) -> None:
        """Take one target back to ``revision`` (the downgrade scripts are tested this way)."""
        self._run(target, command.downgrade, revision)

    def _run(self, target: Target, step: Callable[[Config, str], None], revision: str) -> None:
        with _ALEMBIC, self._engine(target.url).begin() as connection:
            if target.schema is not None:
                # Transaction-local: the pooled connection leaves with its own search path.
                connection.execute(
                    text("SELECT set_config('search_path', :s, true)"), {"s": f'"{target.schema}"'}
                )
            step(self._config(connection, target), revision)
            connection.execute(text(CLAIM), {"t": target.tenant_id, "e": target.env_id})

    def _config(self, connection: Connection, target: Target) -> Config:
        config = Config()
        config.set_main_option("script_location", str(self.tree))
        config.attributes.update(
            connection=connection,
            schema=target.schema,
            tenant_id=target.tenant_id,
            env_id=target.env_id,
        )
        return config

    def close(self) -> None:
        for engine in self._engines.values():
            engine.dispose()
        self._engines.clear()
