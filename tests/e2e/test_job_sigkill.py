"""SIGKILL a worker after every step of every job kind, on the embedded default: the job
resumes on another worker at the step it was in and ends exactly as an uninterrupted one."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tenantry.backends.keys.keyring import Keyring
from tenantry.bootstrap import Services, services
from tenantry.core.context import TenantCtx
from tenantry.core.settings import Settings
from tenantry.tenancy.lifecycle.jobs import JobState
from tenantry.tenancy.lifecycle.states import JobKind, LifecycleState
from tenantry.tenancy.manifests import loader
from tests.conftest import EXAMPLE_BUNDLE, REPO
from tests.integration.lifecycle import test_delete as purges

Check = Callable[[Services], Awaitable[None]]


async def _nothing(wired: Services) -> None:
    del wired


@dataclass(frozen=True)
class Case:
    kind: JobKind
    before: list[JobKind] = field(default_factory=list)  # jobs run first, uninterrupted
    options: dict[str, Any] = field(default_factory=dict)
    prepare: Check = _nothing  # data written before the job
    check: Check = _nothing  # what must hold after it
    ends: LifecycleState = LifecycleState.ACTIVE


ACME = TenantCtx(tenant_id="acme", env_id="prod", team_id="support")


async def write_data(wired: Services) -> None:
    """A session, an object and a secret in acme's prod environment."""
    scope = await wired.scopes.open(ACME)
    await scope.sessions.create("support", "s1", user="u1", variables={"n": 1})
    await scope.objects.put("reports/q1.txt", b"quarter one")
    await scope.secrets.put("api-token", "s3cr3t")


async def read_data(wired: Services) -> None:
    scope = await wired.scopes.open(ACME)
    assert (await scope.sessions.get("support", "s1")).variables == {"n": 1}
    assert (await scope.objects.get("reports/q1.txt")).data == b"quarter one"
    assert (await scope.secrets.get("api-token")).value.reveal() == b"s3cr3t"


async def one_new_key(wired: Services) -> None:
    await read_data(wired)
    assert len(Keyring(wired.settings.data_dir.resolve()).kids("acme")) == 1


async def _acme_data(wired: Services) -> None:
    for env in ("prod", "staging"):
        await purges.write(wired, "acme", env)


async def _acme_purged(wired: Services) -> None:
    await purges.purged(wired, "acme", ("prod", "staging"))


CASES = [
    Case(JobKind.SUSPEND, ends=LifecycleState.SUSPENDED),
    Case(JobKind.RESUME, before=[JobKind.SUSPEND]),
    Case(JobKind.ROTATE_KEYS, prepare=write_data, check=one_new_key),
    Case(
        JobKind.DELETE,
        options={"now": True},
        prepare=_acme_data,
        check=_acme_purged,
        ends=LifecycleState.DELETED,
    ),
]


def _settings(root: Path) -> Settings:
    return Settings(
        database_url=f"sqlite+aiosqlite:///{root / 'control.sqlite3'}",
        data_dir=root / "data",
        job_lease_seconds=1.0,
    )


async def _ready(settings: Settings, case: Case) -> tuple[str, int]:
    """Acme provisioned, with data, the jobs before ``case`` done, and its job requested."""
    async with services(settings) as wired:
        await wired.registry.apply(loader.load([EXAMPLE_BUNDLE]))
        await wired.controller.reconcile("acme")
        await case.prepare(wired)
        for kind in case.before:
            earlier = await wired.lifecycle.request(kind, "acme", actor="test")
            assert (await wired.jobs.run(earlier.id) or earlier).state is JobState.SUCCEEDED
        job = await wired.lifecycle.request(case.kind, "acme", actor="test", options=case.options)
        return job.id, len(wired.jobs.recipes[case.kind](job))


async def _resumed(settings: Settings, job_id: str, case: Case) -> None:
    async with services(settings) as wired:
        ended = None
        for _ in range(50):  # until the killed worker's claim (1 s) expires
            ended = await wired.jobs.run(job_id)
            if ended is not None:
                break
            await asyncio.sleep(0.1)
        assert ended is not None and ended.state is JobState.SUCCEEDED, ended
        assert all(s.attempts >= 1 for s in ended.steps)
        assert (await wired.registry.get("acme")).lifecycle_state is case.ends
        await case.check(wired)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.kind.value)
async def test_a_job_killed_after_any_step_resumes_and_ends_the_same(
    case: Case, tmp_path: Path
) -> None:
    settings = _settings(tmp_path / "count")
    _, steps = await _ready(settings, case)
    for after in range(1, steps + 1):
        settings = _settings(tmp_path / f"after-{after}")
        job_id, _ = await _ready(settings, case)
        _kill_after(settings, job_id, after)
        await _resumed(settings, job_id, case)


def _kill_after(settings: Settings, job_id: str, after: int) -> None:
    command = [
        sys.executable,
        "-m",
        "tests.e2e.job_stepper",
        str(settings.database_url),
        str(settings.data_dir),
        job_id,
        str(after),
    ]
    environment = {**os.environ, "TENANTRY_LOG_LEVEL": "WARNING"}
    with subprocess.Popen(
        command, cwd=REPO, stdout=subprocess.PIPE, text=True, env=environment
    ) as process:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("STEPPED"), line
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
