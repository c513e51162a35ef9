"""``tenantry worker --pool``: a malformed pool is refused before anything runs."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from tenantry.cli.main import app

runner = CliRunner()


@pytest.mark.parametrize(
    ("pool", "code"),
    [
        ("dedicated", "pool.invalid"),
        ("tenant:", "pool.invalid"),
        ("tenant:ACME", "id.invalid"),
        ("tenant:a.b", "id.invalid"),
        ("tenant:a>", "id.invalid"),
    ],
)
def test_a_malformed_pool_is_exit_1(tmp_path: Path, pool: str, code: str) -> None:
    database = f"sqlite:///{tmp_path / 'c.db'}"
    result = runner.invoke(
        app,
        ["--database-url", database, "--data-dir", str(tmp_path / "d"), "worker", "--pool", pool],
    )
    assert result.exit_code == 1, result.output
    assert code in result.stderr
    assert not (tmp_path / "c.db").exists()  # refused before the services were opened
