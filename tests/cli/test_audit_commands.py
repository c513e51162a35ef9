"""``tenantry audit``: list, verify (exit 9 on a broken chain), export and verify offline, prune;
bad input is a clear error that changes nothing."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from tenantry.cli import exit_codes
from tenantry.cli.main import app
from tests.integration.audit.bypass import tamper

runner = CliRunner()


def _tenantry(tmp_path: Path, *args: str) -> tuple[int, str, str]:
    root = ["--database-url", f"sqlite:///{tmp_path}/c.db", "--data-dir", str(tmp_path / "d")]
    result = runner.invoke(app, [*root, *args])
    return result.exit_code, result.stdout, result.stderr


def _seeded(tmp_path: Path) -> None:
    for _ in range(3):
        assert _tenantry(tmp_path, "token", "rotate-key")[0] == 0


def test_list_verify_and_export(tmp_path: Path) -> None:
    _seeded(tmp_path)
    code, out, _ = _tenantry(tmp_path, "audit", "list", "-o", "json")
    assert code == 0
    items = json.loads(out)["items"]
    assert [i["action"] for i in items] == ["signing_key.rotate"] * 3
    code, out, _ = _tenantry(tmp_path, "audit", "verify")
    assert code == 0 and "intact" in out
    export = tmp_path / "audit.jsonl"
    assert _tenantry(tmp_path, "audit", "export", "-o", str(export))[0] == 0
    code, out, _ = _tenantry(tmp_path, "audit", "verify", "--file", str(export), "-o", "json")
    assert code == 0 and json.loads(out)["intact"]


def test_a_broken_chain_exits_with_the_integrity_code(tmp_path: Path) -> None:
    _seeded(tmp_path)
    assert _tenantry(tmp_path, "audit", "verify")[0] == 0
    tamper(
        f"sqlite:///{tmp_path / 'c.db'}", "UPDATE audit_records SET actor = 'mallory' WHERE id = 2"
    )
    code, _, err = _tenantry(tmp_path, "audit", "verify")
    assert code == exit_codes.INTEGRITY == 9
    assert "first bad link seq 2 record 2" in err


def test_a_broken_export_exits_with_the_integrity_code(tmp_path: Path) -> None:
    _seeded(tmp_path)
    export = tmp_path / "audit.jsonl"
    _tenantry(tmp_path, "audit", "export", "-o", str(export))
    lines = export.read_text().splitlines()
    export.write_text("\n".join(lines[:-1]) + "\n")  # the last link dropped
    code, _, err = _tenantry(tmp_path, "audit", "verify", "--file", str(export))
    assert code == exit_codes.INTEGRITY
    assert "truncated" in err


def test_prune_removes_old_records_and_what_remains_verifies(tmp_path: Path) -> None:
    _seeded(tmp_path)
    code, out, _ = _tenantry(tmp_path, "audit", "prune", "--before", "2999-01-01")
    assert code == 0 and "@platform" in out
    assert _tenantry(tmp_path, "audit", "verify")[0] == 0


def test_bad_input_is_a_clear_error(tmp_path: Path) -> None:
    code, _, err = _tenantry(tmp_path, "audit", "list", "--tenant", "Not A Tenant")
    assert code == 1 and "audit.chain_invalid" in err
    code, _, err = _tenantry(tmp_path, "audit", "verify", "--file", str(tmp_path / "missing"))
    assert code == 1 and "audit.export_invalid" in err
    garbage = tmp_path / "garbage.jsonl"
    garbage.write_text("{not json\n")
    code, _, err = _tenantry(tmp_path, "audit", "verify", "--file", str(garbage))
    assert code == 1 and "line 1" in err
