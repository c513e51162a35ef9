"""What the CLI prints for other programs: whole tables when piped, JSON with real booleans."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from tenantry.cli.main import app
from tests.conftest import EXAMPLE_BUNDLE


def tenantry(tmp_path: Path, *args: str) -> tuple[int, str]:
    root = ["--database-url", f"sqlite:///{tmp_path}/c.db", "--data-dir", str(tmp_path / "data")]
    result = CliRunner().invoke(app, [*root, *args])  # stdout is not a terminal here
    return result.exit_code, result.stdout


def test_piped_tables_are_never_cut(tmp_path: Path) -> None:
    tenantry(tmp_path, "apply", "-f", str(EXAMPLE_BUNDLE))
    code, out = tenantry(tmp_path, "tenants", "list")
    assert code == 0
    assert "…" not in out
    acme = next(line for line in out.splitlines() if line.startswith("acme"))
    assert acme.split() == [
        *("acme", "ACME", "Corporation", "mt-standard", "standard", "pending", "unknown"),
        *("0/1", "prod,staging", "sales,support"),
    ]
    assert all(line == line.rstrip() for line in out.splitlines())
    code, out = tenantry(tmp_path, "tenants", "get", "acme")
    assert code == 0 and "…" not in out
    assert "acme_support_flow" in out and "messaging-telegram" in out


def test_json_readiness_is_a_boolean(tmp_path: Path) -> None:
    tenantry(tmp_path, "apply", "-f", str(EXAMPLE_BUNDLE))
    code, out = tenantry(tmp_path, "tenants", "list", "-o", "json")
    assert code == 0
    assert {t["ready"] for t in json.loads(out)["items"]} == {None}  # not observed yet
    code, _ = tenantry(tmp_path, "reconcile", "acme")
    assert code == 0
    code, out = tenantry(tmp_path, "tenants", "get", "acme", "-o", "json")
    assert json.loads(out)["ready"] is True
    code, out = tenantry(tmp_path, "tenants", "list")
    assert "yes" in next(line for line in out.splitlines() if line.startswith("acme")).split()
