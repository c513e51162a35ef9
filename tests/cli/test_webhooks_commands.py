"""``tenantry webhooks`` through Typer's runner: the platform's endpoints (no --tenant) added,
listed, rotated, read and removed; bad input exits non-zero with the reason."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from tenantry.cli.main import app

runner = CliRunner()


def tenantry(tmp_path: Path, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(
        app,
        ["--database-url", f"sqlite:///{tmp_path}/c.db", "--data-dir", str(tmp_path), *args],
    )
    return result.exit_code, result.stdout, result.stderr


def test_the_platforms_endpoints_through_the_cli(tmp_path: Path) -> None:
    code, out, err = tenantry(
        tmp_path, "webhooks", "add", "https://hooks.example.test/in", "-e", "tenancy.tenant.*"
    )
    assert code == 0, err
    assert out.strip().startswith("whsec_") and "store the signing secret" in err
    code, out, _ = tenantry(tmp_path, "webhooks", "list", "-o", "json")
    (endpoint,) = json.loads(out)["items"]
    assert endpoint["filters"] == ["tenancy.tenant.*"] and endpoint["tenant_id"] is None
    code, out, _ = tenantry(tmp_path, "webhooks", "rotate", endpoint["id"])
    assert code == 0 and out.strip().startswith("whsec_")
    code, out, _ = tenantry(tmp_path, "webhooks", "deliveries", endpoint["id"], "-o", "json")
    assert code == 0 and json.loads(out) == {"items": []}
    code, _, _ = tenantry(tmp_path, "webhooks", "remove", endpoint["id"])
    assert code == 0
    code, out, _ = tenantry(tmp_path, "webhooks", "list", "-o", "json")
    assert json.loads(out) == {"items": []}


def test_bad_input_exits_with_the_reason(tmp_path: Path) -> None:
    code, _, err = tenantry(tmp_path, "webhooks", "add", "http://10.0.0.1/in")
    assert code != 0 and "not a public address" in err
    code, _, err = tenantry(tmp_path, "webhooks", "add", "https://h.example.test/", "-e", "nope")
    assert code != 0 and "unknown event type filter" in err
    code, _, err = tenantry(tmp_path, "webhooks", "remove", "0" * 32)
    assert code != 0 and "no such webhook endpoint" in err
    code, out, _ = tenantry(tmp_path, "webhooks", "list", "-o", "json")
    assert json.loads(out) == {"items": []}
