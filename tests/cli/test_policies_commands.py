"""``tenantry policies list|check`` and refusals on the command line: exit 4 and the reason, on
SQLite and PostgreSQL; a bad policy manifest exits 1 and stores nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tenantry.cli.main import app

runner = CliRunner()
BUNDLE = """\
plans:
  starter:
    rate: 10
    allows: {profiles: [mt-standard]}
policies:
  keep:
    description: Keep deleted data a month
    retention: {purge_after: 30d}
  fresh-keys:
    encryption: {max_key_age: 90d}
tenants:
  acme:
    name: Acme
    policy: keep
  globex:
    name: Globex
    plan: starter
"""


class Cli:
    def __init__(self, database_url: str, data_dir: Path) -> None:
        self.root = ["--database-url", database_url, "--data-dir", str(data_dir)]

    def __call__(self, *args: str) -> tuple[int, str, str]:
        result = runner.invoke(app, [*self.root, *args])
        return result.exit_code, result.stdout, result.stderr

    def json(self, *args: str, code: int = 0) -> Any:
        found, out, err = self(*args, "-o", "json")
        assert found == code, out + err
        return json.loads(out)


@pytest.fixture
def cli(database_url: str, tmp_path: Path) -> Cli:
    tenantry = Cli(database_url, tmp_path / "data")
    bundle = tmp_path / "bundle.yaml"
    bundle.write_text(BUNDLE)
    code, out, err = tenantry("apply", "-f", str(bundle))
    assert code == 0, out + err
    return tenantry


def test_apply_and_plan_show_the_policies_they_define(cli: Cli, tmp_path: Path) -> None:
    changed = tmp_path / "changed.yaml"
    changed.write_text(BUNDLE.replace("max_key_age: 90d", "max_key_age: 60d"))
    code, out, _ = cli("plan", "-f", str(changed))
    assert code == 0 and "Policies: fresh-keys (changed)" in out
    data = cli.json("apply", "-f", str(changed))
    assert {"name": "fresh-keys", "action": "changed"} in data["policies"]
    [fresh, _] = cli.json("policies", "list")["items"]
    assert fresh["spec"]["encryption"]["max_key_age"] == 60 * 86_400


def test_policies_list(cli: Cli) -> None:
    items = cli.json("policies", "list")["items"]
    assert [p["name"] for p in items] == ["fresh-keys", "keep"]
    assert items[0]["source"].endswith("bundle.yaml")
    assert items[1]["spec"]["retention"] == {"purge_after": 2_592_000}
    code, out, _ = cli("policies", "list")
    assert code == 0 and "keep" in out and "retention" in out


def test_policies_check_passes_for_a_compliant_tenant(cli: Cli) -> None:
    report = cli.json("policies", "check", "acme")
    assert report["passed"] is True and report["policy"] == "keep"
    assert {c["check"]: c["status"] for c in report["checks"]} == {
        "plan": "not set",
        "residency": "not set",
        "encryption": "not set",
        "retention": "passed",
    }
    code, out, _ = cli("policies", "check", "globex")
    assert code == 0 and "plan" in out and "passed" in out


def test_a_refused_transition_exits_4_with_the_reason(cli: Cli) -> None:
    code, out, err = cli("delete", "acme", "--now", "--yes")
    assert code == 4, out + err
    assert "policy.violated" in err and "a delete --now is refused" in err
    assert cli.json("tenants", "get", "acme")["lifecycle_state"] == "pending"


def test_a_refused_apply_exits_4_and_policies_check_exits_4(cli: Cli, tmp_path: Path) -> None:
    changed = tmp_path / "changed.yaml"
    dedicated = "    plan: starter\n    profile: st-dedicated\n"
    changed.write_text(BUNDLE.replace("    plan: starter\n", dedicated))
    for command in ("plan", "apply"):  # the plan says beforehand what the apply will refuse
        code, out, err = cli(command, "-f", str(changed))
        assert code == 4, out + err
        assert "plan 'starter' does not allow profile 'st-dedicated'" in err
    assert cli.json("tenants", "get", "globex")["profile"] == "mt-standard"


def test_policies_check_of_an_unknown_tenant_is_not_found(cli: Cli) -> None:
    code, _, err = cli("policies", "check", "nobody")
    assert code == 3 and "nobody" in err
    code, _, err = cli("policies", "check", "Not_An_Id")
    assert code == 1


def test_a_bad_policy_manifest_exits_1_and_stores_nothing(cli: Cli, tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text(BUNDLE.replace("{purge_after: 30d}", "{purge_after: 30d, forever: yes}"))
    code, out, err = cli("apply", "-f", str(broken))
    assert code == 1
    assert f"{broken}:8:" in err + out and "forever" in err + out
    assert [p["name"] for p in cli.json("policies", "list")["items"]] == ["fresh-keys", "keep"]
