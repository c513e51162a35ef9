"""SIGKILL a reconciling process after each action in turn; a restart converges cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from tenantry.bootstrap import services
from tenantry.core.settings import Settings
from tenantry.tenancy.manifests import loader
from tenantry.tenancy.manifests.schemas import Bundle
from tests.conftest import EXAMPLE_BUNDLE, REPO
from tests.integration.controller.test_reconcile import actual, recorded


@pytest.mark.parametrize("actions", [1, 2, 3, 4, 5])
async def test_killed_after_each_action_converges(settings: Settings, actions: int) -> None:
    acme = loader.load([EXAMPLE_BUNDLE]).tenants["acme"]
    async with services(settings) as wired:
        await wired.registry.apply(Bundle(tenants={"acme": acme}))
    _run_until_killed(settings, actions)
    async with services(settings) as wired:
        outcome = await wired.controller.reconcile("acme")
        assert outcome.result == "ready", outcome.message
        tenant = await wired.registry.get("acme")
        assert actual(wired) == recorded(tenant.resources)
        assert len(tenant.resources) == 5
        assert await wired.migrator.pending() == []


def _run_until_killed(settings: Settings, actions: int) -> None:
    url = str(settings.database_url)
    command = [
        sys.executable,
        "-m",
        "tests.e2e.stepper",
        url,
        str(settings.data_dir),
        "acme",
        str(actions),
    ]
    environment = {**os.environ, "TENANTRY_LOG_LEVEL": "WARNING"}
    with subprocess.Popen(
        command, cwd=REPO, stdout=subprocess.PIPE, text=True, env=environment
    ) as process:
        assert process.stdout is not None
        try:
            line = process.stdout.readline().strip()
        finally:
            os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
    assert line == "ACTED", f"expected the worker to act, got {line!r}"
    assert process.returncode == -signal.SIGKILL
