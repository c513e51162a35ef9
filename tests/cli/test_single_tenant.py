"""The single-tenant example of docs/messaging.md ("Deployment models"), as its commands run."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tenantry.cli.main import app
from tests.conftest import EXAMPLE_BUNDLE, REPO

runner = CliRunner()
ACME_BUNDLE = REPO / "examples" / "acme"


def _tenantry(tmp_path: Path, *args: str, single: str = "acme") -> tuple[int, str]:
    env = {"TENANTRY_SINGLE_TENANT": single}
    result = runner.invoke(app, ["--data-dir", str(tmp_path / "data"), *args], env=env)
    return result.exit_code, result.stdout + result.stderr


def test_the_documented_single_tenant_commands(tmp_path: Path) -> None:
    assert _tenantry(tmp_path, "apply", "-f", str(ACME_BUNDLE))[0] == 0
    code, out = _tenantry(tmp_path, "reconcile", "--all")
    assert code == 0 and "acme" in out and "ready" in out
    code, out = _tenantry(tmp_path, "apply", "-f", str(EXAMPLE_BUNDLE))
    assert code == 6 and "deployment.tenant_not_served" in out and "'bigcorp'" in out
    code, out = _tenantry(tmp_path, "tenants", "list")
    assert code == 0 and re.search(r"^acme ", out, re.M) and "bigcorp" not in out
    code, out = _tenantry(tmp_path, "suspend", "bigcorp")
    assert code == 6 and "deployment.tenant_not_served" in out


def test_the_docs_show_these_commands() -> None:
    docs = (REPO / "docs" / "messaging.md").read_text()
    assert "export TENANTRY_SINGLE_TENANT=acme" in docs
    assert "uv run tenantry apply -f examples/acme" in docs
    assert "uv run tenantry apply -f examples/bundle        # refused (exit 6)" in docs


@pytest.mark.parametrize("bad", ["ACME", "a.b", "acme*"])
def test_a_malformed_setting_stops_the_command(tmp_path: Path, bad: str) -> None:
    code, out = _tenantry(tmp_path, "tenants", "list", single=bad)
    assert code != 0 and "setting.invalid" in out and "single_tenant" in out
