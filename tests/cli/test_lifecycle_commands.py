"""The lifecycle commands and ``tenantry jobs``, on SQLite and on the real PostgreSQL: ``--wait``
runs the job in this process when no worker takes it, and ``tenantry worker`` runs it when one
is running."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update
from typer.testing import CliRunner

from tenantry.cli.commands import lifecycle
from tenantry.cli.main import app
from tenantry.tenancy.lifecycle.models import JobRow
from tenantry.tenancy.registry import database
from tests.conftest import REPO

runner = CliRunner()
BUNDLE = """tenants:
  acme:
    name: "Acme"
    environments: [{id: prod}]
  globex:
    name: "Globex"
    environments: [{id: prod}]
"""


class Cli:
    def __init__(self, database_url: str, data_dir: Path) -> None:
        self.root = ["--database-url", database_url, "--data-dir", str(data_dir)]

    def __call__(self, *args: str, answer: str | None = None) -> tuple[int, str, str]:
        result = runner.invoke(app, [*self.root, *args], input=answer)
        return result.exit_code, result.stdout, result.stderr

    def json(self, *args: str) -> Any:
        code, out, err = self(*args, "-o", "json")
        assert code == 0, err
        return json.loads(out)

    def state(self, tenant: str = "acme") -> str:
        state: str = self.json("tenants", "get", tenant)["lifecycle_state"]
        return state


@pytest.fixture
def cli(database_url: str, tmp_path: Path) -> Cli:
    tenantry = Cli(database_url, tmp_path / "data")
    bundle = tmp_path / "bundle.yaml"
    bundle.write_text(BUNDLE)
    assert tenantry("apply", "-f", str(bundle))[0] == 0
    code, out, err = tenantry("reconcile", "--all")
    assert code == 0, out + err
    return tenantry


def test_suspend_and_resume_with_wait_run_here(cli: Cli) -> None:
    code, out, err = cli("suspend", "acme", "--wait")
    assert code == 0, err
    assert "suspend of acme: job " in out and "succeeded" in out
    assert cli.state() == "suspended"
    code, out, err = cli("resume", "acme", "--wait")
    assert code == 0, err
    assert cli.state() == "active"
    [resumed, suspended] = cli.json("jobs", "list", "--tenant", "acme")["items"]
    assert (resumed["kind"], suspended["kind"]) == ("resume", "suspend")
    assert resumed["requested_by"].startswith("cli:")
    job = cli.json("jobs", "get", resumed["id"])
    [step] = job["steps"]
    assert (job["state"], step["name"], step["state"], step["attempts"]) == (
        "succeeded",
        "reopen",
        "done",
        1,
    )
    code, out, _ = cli("jobs", "get", resumed["id"])
    assert code == 0 and "reopen" in out and "done" in out


def test_without_wait_the_job_is_queued_and_can_be_cancelled(cli: Cli) -> None:
    code, out, _ = cli("suspend", "acme")
    assert code == 0
    job_id = out.split("job ")[1].split()[0]
    assert f"tenantry jobs watch {job_id}" in out
    assert cli.state() == "suspended"
    queued = cli.json("jobs", "list", "--state", "queued")["items"]
    assert [j["id"] for j in queued] == [job_id]
    assert cli.json("jobs", "list", "--tenant", "globex")["items"] == []
    code, out, _ = cli("jobs", "list")
    assert code == 0 and job_id in out
    code, out, _ = cli("jobs", "cancel", job_id)
    assert code == 0 and "cancelled" in out
    assert cli.state() == "active"
    code, _, err = cli("jobs", "cancel", job_id)
    assert code == 4 and "job.conflict" in err
    code, _, err = cli("jobs", "retry", job_id)
    assert code == 4 and "only a failed job" in err


def test_bad_input_exit_codes(cli: Cli) -> None:
    code, _, err = cli("suspend", "nobody")
    assert code == 3 and "tenant.not_found" in err
    code, _, err = cli("resume", "acme")
    assert code == 4 and "lifecycle.transition_refused" in err
    assert "is active" in err and "suspended" in err
    for bad in ("0" * 32, "nope", "../../etc"):
        code, _, err = cli("jobs", "get", bad)
        assert code == 3 and "job.not_found" in err
    code, _, _ = cli("jobs", "list", "--state", "asleep")
    assert code == 2  # a usage error: Click names the allowed states
    code, _, err = cli("jobs", "list", "--tenant", "No_Such")
    assert code == 1 and "id.invalid" in err


def test_archive_and_delete_ask_first(cli: Cli) -> None:
    for command in (["archive", "acme"], ["delete", "acme"], ["delete", "acme", "--now"]):
        code, _, err = cli(*command)
        assert code == 2 and "confirmation.required" in err and "--yes" in err
    assert cli.json("jobs", "list")["items"] == []
    assert cli.state() == "active"


def test_at_a_terminal_archive_and_delete_do_what_the_answer_says(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lifecycle, "interactive", lambda: True)
    code, out, err = cli("delete", "acme", answer="n\n")
    assert code == 1 and "Nothing done." in err
    assert cli.json("jobs", "list")["items"] == []
    code, out, err = cli("archive", "acme", answer="y\n")
    assert code == 0, err
    assert "Archive acme?" in err and "archive of acme: job" in out
    assert cli.state() == "suspended"  # from the request on, until the archive ends


def test_delete_under_retention_waits_until_scheduled(cli: Cli) -> None:
    code, out, err = cli("delete", "acme", "--yes", "--wait")
    assert code == 0, err
    assert "scheduled" in out
    assert cli.state() == "deleting"
    [job] = cli.json("jobs", "list", "--tenant", "acme")["items"]
    assert (job["kind"], job["state"], job["params"]) == (
        "delete",
        "scheduled",
        {"now": False, "force": False, "environments": job["params"]["environments"]},
    )
    code, out, _ = cli("jobs", "watch", job["id"])  # nothing to wait for until its time
    assert code == 0 and "scheduled" in out
    assert cli("jobs", "cancel", job["id"])[0] == 0
    assert cli.state() == "active"


def test_watching_a_failed_job_exits_with_its_error(cli: Cli, database_url: str) -> None:
    code, out, _ = cli("suspend", "acme")
    job_id = out.split("job ")[1].split()[0]
    _fail(database_url, job_id)
    code, _, err = cli("jobs", "watch", job_id)
    assert code == 5 and "job.failed" in err and f"tenantry jobs retry {job_id}" in err
    code, _, err = cli("jobs", "retry", job_id, "--wait")
    assert code == 0, err
    assert cli.json("jobs", "get", job_id)["state"] == "succeeded"
    assert cli.state() == "suspended"


def _fail(database_url: str, job_id: str) -> None:
    """Mark the job failed at a step, as a runner does when the step fails for good."""
    step = {"name": "drain", "final": False, "state": "failed", "attempts": 1, "error": "boom"}

    async def fail() -> None:
        engine = database.create_engine(database_url)
        try:
            async with engine.begin() as db:
                values = {"state": "failed", "error": "boom", "steps": [step]}
                await db.execute(update(JobRow).where(JobRow.id == job_id).values(values))
        finally:
            await engine.dispose()

    asyncio.run(fail())


def test_the_worker_runs_a_requested_job_and_stops_on_sigterm(
    cli: Cli, database_url: str, tmp_path: Path
) -> None:
    command = [sys.executable, "-m", "tenantry.cli", *cli.root, "worker"]
    env = {**os.environ, "TENANTRY_LOG_LEVEL": "WARNING"}
    worker = subprocess.Popen(
        command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert worker.stdout is not None
        assert "Tenantry worker" in worker.stdout.readline()  # it has started
        code, out, _ = cli("suspend", "acme")
        assert code == 0
        job_id = out.split("job ")[1].split()[0]
        deadline = time.monotonic() + 20
        while cli.json("jobs", "get", job_id)["state"] != "succeeded":
            assert time.monotonic() < deadline, "the worker did not run the job"
            time.sleep(0.2)
        assert cli.json("jobs", "get", job_id)["claimed_by"] is None
        worker.send_signal(signal.SIGTERM)
        out, err = worker.communicate(timeout=30)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
    assert worker.returncode == 0, err
    assert "stopped" in out
