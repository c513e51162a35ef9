"""``tenantry flows list|get|test`` on the example bundle (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.test_commands import tenantry
from tests.conftest import EXAMPLE_BUNDLE

DIALOGUE = """\
name: intake_flow
version: "1.0"
nodes:
  - id: ask_name
    type: ask
    config: {message: "Your name?", save_as: name}
  - id: route
    type: branch
    config:
      cases:
        - {keywords: [refund], next: billing}
      default: bye
  - id: billing
    type: handoff
    config: {message: "To billing, {{ vars.name }}.", to: billing}
  - id: bye
    type: end
    config: {message: "Bye {{ vars.name }}."}
"""


def test_flows_list_get_and_test(database_url: str, tmp_path: Path) -> None:
    assert tenantry(database_url, "apply", "-f", str(EXAMPLE_BUNDLE))[0] == 0
    assert tenantry(database_url, "reconcile", "--all")[0] == 0
    code, out, err = tenantry(database_url, "flows", "list", "acme", "-o", "json")
    assert code == 0, err
    assert [(f["name"], f["version"]) for f in json.loads(out)["items"]] == [
        ("acme_support_flow", "1.0")
    ]
    code, out, _ = tenantry(database_url, "flows", "get", "acme", "acme_support_flow@1.0")
    assert code == 0 and "Welcome to ACME Support!" in out
    code, out, _ = tenantry(database_url, "flows", "test", "acme", "acme_support_flow", "-m", "hi")
    assert code == 0 and out.splitlines() == ["> hi", "Welcome to ACME Support! How can I help?"]
    dialogue = tmp_path / "intake_flow.yaml"
    dialogue.write_text(DIALOGUE)
    args = ("flows", "test", "acme", str(dialogue), "-m", "hi", "-m", "Ada", "-o", "json")
    code, out, err = tenantry(database_url, *args)
    assert code == 0, err
    turns = json.loads(out)["turns"]
    assert turns[0]["replies"] == ["Your name?"] and turns[0]["waiting_at"] == "ask_name"
    assert turns[1]["replies"] == ["Bye Ada."] and turns[1]["ended"] is True


def test_flows_never_cross_tenants_and_bad_input_is_clear(
    database_url: str, tmp_path: Path
) -> None:
    assert tenantry(database_url, "apply", "-f", str(EXAMPLE_BUNDLE))[0] == 0
    code, _, err = tenantry(database_url, "flows", "get", "bigcorp", "acme_support_flow")
    assert code == 3 and "flow.not_found" in err
    code, _, err = tenantry(database_url, "flows", "list", "nobody")
    assert code == 3 and "tenant.not_found" in err
    broken = tmp_path / "broken_flow.yaml"
    broken.write_text(
        "name: broken_flow\n"
        "version: '1'\n"
        "nodes:\n"
        "  - {id: a, type: reply, next: b, config: {message: x}}\n"
    )
    code, _, err = tenantry(database_url, "flows", "test", "acme", str(broken), "-m", "hi")
    assert code == 1 and f"{broken}:4:" in err and "unknown next node 'b'" in err
