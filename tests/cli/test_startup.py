"""Start-up: ``--version``, ``--help`` and Tab completion import none of the service stack.

Each call runs in a fresh interpreter, since this test process has imported everything.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tenantry.cli import lazy, main

# What a command imports only when it runs: databases, drivers, the server and its models.
SERVICE_STACK = (
    "sqlalchemy",
    "alembic",
    "psycopg",
    "aiosqlite",
    "boto3",
    "botocore",
    "redis",
    "nats",
    "fastapi",
    "starlette",
    "uvicorn",
    "cryptography",
    "jwt",
    "tenantry.bootstrap",
    "tenantry.backends",
    "tenantry.api",
)
# The root's help and version need none of the models or settings either.
ROOT_ONLY = (*SERVICE_STACK, "pydantic", "pydantic_settings", "yaml", "structlog")

_PROBE = """
import json, sys
from tenantry.cli.main import app
try:
    app(sys.argv[1:], prog_name="tenantry")
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)), file=sys.stderr)
"""


def imported(*args: str, env: dict[str, str] | None = None) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=120,
        check=False,
    )
    return set(json.loads(done.stderr.strip().splitlines()[-1]))


def loaded(modules: set[str], packages: tuple[str, ...]) -> list[str]:
    return sorted({m for m in modules for p in packages if m == p or m.startswith(p + ".")})


def test_importing_the_cli_loads_no_command() -> None:
    modules = imported("--help")
    assert loaded(modules, ROOT_ONLY) == []
    assert loaded(modules, ("tenantry.cli.commands",)) == []


@pytest.mark.parametrize("args", [["--version"], ["--help"], []])
def test_root_version_and_help_import_no_service(args: list[str]) -> None:
    assert loaded(imported(*args), ROOT_ONLY) == []


def test_tab_completion_imports_no_service() -> None:
    # (Typer's completion itself loads pydantic, for its adapters: only the stack is checked.)
    env = {"_TENANTRY_COMPLETE": "complete_bash", "COMP_WORDS": "tenantry te", "COMP_CWORD": "1"}
    assert loaded(imported(env=env), SERVICE_STACK) == []


@pytest.mark.parametrize("name", list(main.COMMANDS))
def test_a_command_help_imports_no_service(name: str) -> None:
    assert loaded(imported(name, "--help"), SERVICE_STACK) == []


@pytest.mark.parametrize("args", [["token", "issue", "--help"], ["tenants", "get", "--help"]])
def test_a_subcommand_help_imports_no_service(args: list[str]) -> None:
    assert loaded(imported(*args), SERVICE_STACK) == []


@pytest.mark.parametrize("name", list(main.COMMANDS))
def test_the_table_shows_each_command_help_as_the_command_says_it(name: str) -> None:
    command = lazy.Deferred(name, main.COMMANDS[name]).loaded
    first = " ".join((command.help or "").split("\n\n")[0].split())
    assert main.COMMANDS[name].help == first
