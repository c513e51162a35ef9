"""Several worker processes on one PostgreSQL share the fleet, never one tenant at once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from tests.conftest import REPO, empty

TENANTS = 16


def _bundle(path: Path) -> Path:
    lines = ["tenants:"]
    for i in range(TENANTS):
        lines += [
            f"  w{i}:",
            f'    name: "Worker tenant {i}"',
            "    environments: [{id: prod}, {id: dev}]",
        ]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.postgres
def test_three_processes_share_the_fleet(postgres_url: str, tmp_path: Path) -> None:
    database_url = empty(postgres_url)
    base = [
        sys.executable,
        "-m",
        "tenantry.cli",
        "--database-url",
        database_url,
        "--data-dir",
        str(tmp_path / "data"),
    ]
    env = {**os.environ, "TENANTRY_LOG_LEVEL": "WARNING"}
    subprocess.run(
        [*base, "apply", "-f", str(_bundle(tmp_path / "b.yaml"))],
        check=True,
        cwd=REPO,
        env=env,
        capture_output=True,
    )
    workers = [
        subprocess.Popen(
            [*base, "reconcile", "--all", "-o", "json"],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    reports = []
    for worker in workers:
        out, err = worker.communicate(timeout=120)
        assert worker.returncode == 0, err
        reports.append(json.loads(out)["items"])
    outcomes = [item for report in reports for item in report]
    assert {o["result"] for o in outcomes} <= {"ready", "skipped"}
    acted = Counter(o["tenant_id"] for o in outcomes if o["steps"])
    assert set(acted) == {f"w{i}" for i in range(TENANTS)}
    assert max(acted.values()) == 1, "a tenant was provisioned by two processes"
    final = subprocess.run(
        [*base, "tenants", "list", "-o", "json"],
        check=True,
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
    )
    assert {t["ready"] for t in json.loads(final.stdout)["items"]} == {True}
