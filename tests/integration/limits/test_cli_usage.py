"""``tenantry usage TENANT`` through Typer's runner (registered here as the lead will)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import pytest
import typer
from typer.testing import CliRunner

from tenantry.cli.commands import usage
from tenantry.core.settings import Settings
from tests.integration.limits.conftest import Control

cli = typer.Typer()
cli.command()(usage.usage)
runner = CliRunner()


@cli.callback()
def root(
    ctx: typer.Context,
    database_url: Annotated[str, typer.Option()],
    data: Annotated[Path, typer.Option()],
) -> None:
    ctx.obj = Settings(database_url=database_url, data_dir=data)


def tenantry(control: Control, tmp_path: Path, *args: str) -> tuple[int, str, str]:
    url = control.services.settings.control_database_url()
    result = runner.invoke(cli, ["--database-url", url, "--data", str(tmp_path), *args])
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
async def seeded(control: Control) -> Control:
    at = datetime(2030, 1, 10, 9, tzinfo=UTC)
    await control.meters.record("acme", "ai_tokens", 1234, key="k1", ts=at)
    await control.meters.record("beta", "ai_tokens", 99, key="k1", ts=at)
    return control


def test_usage_as_json_and_as_a_table(seeded: Control, tmp_path: Path) -> None:
    # Synchronous: the command runs its own event loop, as it does in a terminal.
    control = seeded
    window = ["--from", "2030-01-01", "--to", "2030-02-01"]
    code, out, err = tenantry(control, tmp_path, "usage", "acme", *window, "-o", "json")
    assert code == 0, err
    report = json.loads(out)
    assert report["totals"] == {"ai_tokens": 1234} and report["from"] == "2030-01-01T00:00:00Z"
    code, out, _ = tenantry(control, tmp_path, "usage", "acme", *window, "--by", "hour")
    assert code == 0 and "1,234" in out and "2030-01-10T09:00:00+00:00" in out and "99" not in out
    code, out, _ = tenantry(
        control, tmp_path, "usage", "beta", "--from", "2031-01-01", "--to", "2031-01-02"
    )
    assert code == 0 and "no usage recorded" in out


def test_bad_and_unknown_tenants(control: Control, tmp_path: Path) -> None:
    code, _, err = tenantry(control, tmp_path, "usage", "ACME")
    assert code == 1 and "id.invalid" in err
    code, _, err = tenantry(control, tmp_path, "usage", "nobody")
    assert code == 3 and "tenant.not_found" in err
    code, _, err = tenantry(
        control, tmp_path, "usage", "acme", "--from", "2031-01-01", "--to", "2030-01-01"
    )
    assert code == 1 and "usage.period_invalid" in err
