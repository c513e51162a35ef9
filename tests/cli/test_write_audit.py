"""Every CLI command that writes leaves an audit record whose actor is the operating-system
user who ran it (``cli:<user>``), on SQLite and on PostgreSQL; commands that only read are
listed as such, so a new command must be classified here."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from tenantry.cli.main import COMMANDS
from tenantry.tenancy.access.models import AuditRecordRow
from tenantry.tenancy.registry import database
from tests.cli.test_lifecycle_commands import BUNDLE, Cli

# top-level commands (and groups) that write, and the actions their writes are recorded under
WRITES = {
    "apply": {"bundle.apply"},
    "up": {"bundle.apply"},  # applies its bundle as `apply` does, then serves
    "reconcile": {"tenant.reconcile"},  # and the controller's own controller.provision
    "migrate": {"tenant_schema.migrate"},  # one per tenant environment migrated
    **{
        kind: {f"tenant.{kind.replace('-', '_')}"}
        for kind in ("suspend", "resume", "archive", "restore", "rotate-keys", "delete")
    },
    "jobs": {"job.cancel", "job.retry"},  # cancel, retry (list, get and watch read)
    "token": {"token.issue", "token.revoke", "signing_key.rotate", "signing_key.retire"},
    "apikey": {"api_key.create", "api_key.revoke"},  # (list reads)
    "webhooks": {"webhook.add", "webhook.remove", "webhook.rotate", "webhook.replay"},
    "audit": {"audit.prune"},  # (list, verify and export read)
}
READS = {"validate", "plan", "tenants", "plans", "usage", "flows", "worker", "policies"}
# `worker` writes nothing itself: the reconciles and job steps it runs are recorded by the
# controller (controller.provision) and the job runner (job.step); `flows test` runs a flow in
# a throwaway session.


def test_every_command_is_classified() -> None:
    assert set(COMMANDS) == set(WRITES) | READS
    assert not set(WRITES) & READS


def _records(database_url: str) -> list[AuditRecordRow]:
    async def read() -> list[AuditRecordRow]:
        engine = database.create_engine(database_url)
        try:
            async with engine.connect() as db:
                found = await db.execute(select(AuditRecordRow).order_by(AuditRecordRow.id))
                return list(found.all())  # type: ignore[arg-type]
        finally:
            await engine.dispose()

    return asyncio.run(read())


@pytest.fixture
def cli(database_url: str, tmp_path: Path) -> Iterator[Cli]:
    tenantry = Cli(database_url, tmp_path / "data")
    assert tenantry("tenants", "list")[0] == 0  # the control database, migrated
    yield tenantry


def test_each_write_command_is_recorded_with_the_operator(
    cli: Cli, database_url: str, tmp_path: Path
) -> None:
    bundle = tmp_path / "bundle.yaml"
    bundle.write_text(BUNDLE)
    seen: set[str] = set()

    def run(*args: str) -> str:
        before = len(_records(database_url))
        code, out, err = cli(*args)
        assert code == 0, out + err
        new = _records(database_url)[before:]
        assert new, f"`tenantry {' '.join(args)}` left no audit record"
        mine = [r for r in new if r.actor.startswith("cli:")]
        assert mine, [(r.actor, r.action) for r in new]
        seen.update(r.action for r in mine)
        return out

    run("apply", "-f", str(bundle))
    run("reconcile", "--all")
    run("suspend", "acme")
    [job] = json.loads(cli("jobs", "list", "--tenant", "acme", "-o", "json")[1])["items"]
    run("jobs", "cancel", job["id"])
    run("rotate-keys", "globex", "--wait")
    run("delete", "globex", "--yes")
    issued = json.loads(run("token", "issue", "-t", "acme", "-r", "viewer", "-o", "json"))
    run("token", "revoke", issued["claims"]["jti"])
    kid = run("token", "rotate-key").split()[-1]
    del kid
    created = json.loads(
        run("apikey", "create", "-t", "acme", "-r", "viewer", "-n", "ci", "-o", "json")
    )
    run("apikey", "revoke", "-t", "acme", created["key"]["id"])
    expected = {
        "bundle.apply",
        "tenant.reconcile",
        "tenant.suspend",
        "job.cancel",
        "tenant.rotate_keys",
        "tenant.delete",
        "token.issue",
        "token.revoke",
        "signing_key.rotate",
        "api_key.create",
        "api_key.revoke",
    }
    assert expected <= seen, expected - seen
    assert expected <= set().union(*WRITES.values())


def test_the_controller_and_job_steps_are_recorded(
    cli: Cli, database_url: str, tmp_path: Path
) -> None:
    bundle = tmp_path / "bundle.yaml"
    bundle.write_text(BUNDLE)
    for args in (
        ("apply", "-f", str(bundle)),
        ("reconcile", "--all"),
        ("suspend", "acme", "--wait"),
    ):
        code, out, err = cli(*args)
        assert code == 0, out + err
    found = _records(database_url)
    provisions = [r for r in found if r.action == "controller.provision"]
    assert {r.tenant_id for r in provisions} == {"acme", "globex"}
    assert all(r.actor == "controller" and r.outcome == "succeeded" for r in provisions)
    steps = [r for r in found if r.action == "job.step" and r.tenant_id == "acme"]
    assert steps and all(r.outcome == "succeeded" and r.actor == "lifecycle" for r in steps)
    assert {r.details["kind"] for r in steps} == {"suspend"}
