"""The CLI through Typer's runner, on SQLite and on the real PostgreSQL."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import pytest
import sqlalchemy
import yaml
from typer.testing import CliRunner

from tenantry.cli.main import app
from tests.conftest import EXAMPLE_BUNDLE, SPEC_EXAMPLES

runner = CliRunner()


def tenantry(database_url: str, *args: str) -> tuple[int, str, str]:
    data_dir = Path(tempfile.gettempdir()) / "tenantry-cli-tests"  # never the working directory
    result = runner.invoke(
        app, ["--database-url", database_url, "--data-dir", str(data_dir), *args]
    )
    return result.exit_code, result.stdout, result.stderr


def test_validate_accepts_every_spec_example(tmp_path: Path) -> None:
    files = sorted(str(p) for p in SPEC_EXAMPLES.glob("*.yaml"))
    assert len(files) == 5
    code, out, _ = tenantry(f"sqlite:///{tmp_path}/c.db", "validate", *files, str(EXAMPLE_BUNDLE))
    assert code == 0
    assert out.count("ok ") == 6


def test_validate_reports_every_problem_with_position(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("tenants:\n  Acme:\n    name: x\n    profle: mt-standard\n")
    code, _, err = tenantry(f"sqlite:///{tmp_path}/c.db", "validate", str(bad))
    assert code == 1
    assert f"{bad}:2:3:" in err and "invalid tenant id" in err
    assert f"{bad}:4:5:" in err and "unknown key 'profle'" in err


@pytest.mark.parametrize(
    "command", [["validate"], ["plan", "-f"], ["apply", "-f"], ["up", "--bundle"]]
)
def test_a_control_character_is_a_located_problem_not_a_traceback(
    tmp_path: Path, command: list[str]
) -> None:
    bad = tmp_path / "ctl.yaml"
    bad.write_bytes(b'tenant:\n  id: ctl\n  name: "a\x01b"\n')
    code, out, err = tenantry(f"sqlite:///{tmp_path}/c.db", *command, str(bad))
    assert code == 1, (out, err)
    assert f"{bad}:3:11: control character U+0001" in err
    assert "Traceback" not in out + err


def test_validate_json_output(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("- not a mapping\n")
    code, out, _ = tenantry(f"sqlite:///{tmp_path}/c.db", "validate", str(bad), "-o", "json")
    assert code == 1
    report = json.loads(out)
    assert report["valid"] is False
    assert report["issues"][0]["line"] == 1


def test_plan_apply_and_apply_again_is_a_no_op(database_url: str) -> None:
    code, out, _ = tenantry(database_url, "plan", "-f", str(EXAMPLE_BUNDLE))
    assert code == 0 and "2 created" in out
    code, out, _ = tenantry(database_url, "apply", "-f", str(EXAMPLE_BUNDLE))
    assert code == 0 and "Applied: 2 created" in out
    for command in ("apply", "plan"):
        code, out, _ = tenantry(database_url, command, "-f", str(EXAMPLE_BUNDLE))
        assert code == 0
        assert "No changes" in out


def test_changed_and_pruned_tenants(database_url: str, tmp_path: Path) -> None:
    tenantry(database_url, "apply", "-f", str(EXAMPLE_BUNDLE))
    bundle = tmp_path / "bundle"
    shutil.copytree(EXAMPLE_BUNDLE, bundle)
    text = (bundle / "bundle.yaml").read_text().replace('"Sales Team"', '"Sales"')
    (bundle / "bundle.yaml").write_text(text)
    code, out, _ = tenantry(database_url, "plan", "-f", str(bundle), "-o", "json")
    changes = {c["tenant_id"]: c for c in json.loads(out)["changes"]}
    assert changes["acme"]["action"] == "changed"
    assert changes["acme"]["generation"] == 2
    assert changes["acme"]["changes"][0]["path"] == "teams.sales.name"
    assert changes["bigcorp"]["action"] == "unchanged"

    for path in (
        "tenants/bigcorp.yaml",
        "teams/bigcorp-helpdesk.yaml",
        "flows/bigcorp_helpdesk_flow.yaml",
    ):
        (bundle / path).unlink()
    code, out, _ = tenantry(database_url, "apply", "-f", str(bundle))
    assert code == 0 and "retained" in out
    code, out, _ = tenantry(database_url, "apply", "-f", str(bundle), "--prune")
    assert code == 0 and "removed" in out
    code, out, _ = tenantry(database_url, "tenants", "list", "-o", "json")
    tenants = {t["id"]: t for t in json.loads(out)["items"]}
    assert tenants["bigcorp"]["marked_for_deletion"] is True
    assert tenants["acme"]["generation"] == 2


def test_tenant_reads_in_every_format(database_url: str) -> None:
    tenantry(database_url, "apply", "-f", str(EXAMPLE_BUNDLE))
    code, out, _ = tenantry(database_url, "tenants", "list")
    assert code == 0 and "acme" in out and "bigcorp" in out
    code, out, _ = tenantry(database_url, "tenants", "get", "acme", "-o", "yaml")
    acme = yaml.safe_load(out)
    assert acme["environments"] == ["prod", "staging"]
    assert [c["id"] for c in acme["team_details"][1]["channels"]] == [
        "slack",
        "telegram",
        "webchat",
    ]
    assert acme["conditions"][0]["reason"] == "AwaitingReconcile"
    code, out, _ = tenantry(database_url, "tenants", "get", "bigcorp")
    assert code == 0 and "st-dedicated" in out and "bigcorp_helpdesk_flow" in out


@pytest.mark.parametrize(
    ("tenant_id", "code", "message"),
    [("nope", 3, "tenant.not_found"), ("ACME", 1, "id.invalid"), ("a/../b", 1, "id.invalid")],
)
def test_tenant_get_errors(database_url: str, tenant_id: str, code: int, message: str) -> None:
    exit_code, _, err = tenantry(database_url, "tenants", "get", tenant_id)
    assert exit_code == code
    assert message in err


def test_broken_bundle_writes_nothing(database_url: str, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("tenants:\n  ok:\n    name: fine\n  bad tenant:\n    name: x\n")
    code, _, err = tenantry(database_url, "apply", "-f", str(bad))
    assert code == 1 and "bad tenant" in err
    code, out, _ = tenantry(database_url, "tenants", "list", "-o", "json")
    assert json.loads(out)["items"] == []


def test_missing_bundle_path(tmp_path: Path) -> None:
    code, _, err = tenantry(f"sqlite:///{tmp_path}/c.db", "apply", "-f", str(tmp_path / "nope"))
    assert code == 1 and "no such file or directory" in err


def test_unreachable_database_is_exit_5() -> None:
    code, _, err = tenantry("postgresql://postgres@127.0.0.1:1/x", "tenants", "list")
    assert code == 5
    assert "control_db.unavailable" in err


@pytest.mark.parametrize(
    "command", [[], ["validate"], ["plan"], ["apply"], ["tenants"], ["tenants", "get"], ["up"]]
)
def test_help(command: list[str]) -> None:
    result = runner.invoke(app, [*command, "--help"])
    assert result.exit_code == 0
    assert "Usage" in result.stdout


def test_plans_list_shows_the_built_in_and_the_applied_plans(database_url: str) -> None:
    code, out, _ = tenantry(database_url, "plans", "list", "-o", "json")
    assert code == 0
    assert [(p["name"], p["source"]) for p in json.loads(out)["items"]] == [
        ("standard", "built-in")
    ]
    tenantry(database_url, "apply", "-f", str(EXAMPLE_BUNDLE))
    code, out, _ = tenantry(database_url, "plans", "list", "-o", "json")
    plans = {p["name"]: p for p in json.loads(out)["items"]}
    assert sorted(plans) == ["enterprise", "standard"]
    assert plans["enterprise"]["source"] == str(EXAMPLE_BUNDLE)
    assert plans["enterprise"]["effective"]["retention"] == {"purge_after": 2_592_000}
    code, out, _ = tenantry(database_url, "plans", "list")
    assert code == 0 and "enterprise" in out and "200/s" in out and "30d" in out


def test_apply_naming_a_deleted_tenant_is_exit_4(database_url: str) -> None:
    tenantry(database_url, "apply", "-f", str(EXAMPLE_BUNDLE))
    sync_url = database_url.replace("postgresql://", "postgresql+psycopg://", 1)
    engine = sqlalchemy.create_engine(sync_url)
    with engine.begin() as connection:
        connection.execute(
            sqlalchemy.text("UPDATE tenants SET lifecycle_state = 'deleted' WHERE id = 'acme'")
        )
    engine.dispose()
    code, _, err = tenantry(database_url, "apply", "-f", str(EXAMPLE_BUNDLE))
    assert code == 4
    assert "tenant.tombstoned" in err or "'acme'" in err
    assert "never reused" in err
