"""Drive the django-tenants anchor in its own environment and database."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

HERE = Path(__file__).resolve().parent
PYTHON = HERE.parent / ".venv-anchor" / "bin" / "python"
ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def setup() -> None:
    subprocess.run(["bash", str(HERE / "setup.sh")], check=True)


def fresh_database(name: str) -> None:
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def drop_database(name: str) -> None:
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def run(database: str, *args: str) -> dict[str, Any]:
    """Run ``run.py ARGS`` against ``database``; its last output line is a JSON document."""
    env = {**os.environ, "ANCHOR_DB": database, "ANCHOR_PROCESSES": str(os.cpu_count() or 2)}
    done = subprocess.run(
        [str(PYTHON), str(HERE / "run.py"), *args],
        check=True,
        env=env,
        capture_output=True,
        text=True,
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result
