"""A real NATS server goes away mid-life: tenants degrade, then converge when it returns."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tenantry.bootstrap import services
from tenantry.core.settings import Settings
from tenantry.tenancy.manifests import loader
from tenantry.tenancy.manifests.schemas import Bundle
from tests.conftest import EXAMPLE_BUNDLE


class NatsServer:
    def __init__(self, folder: Path) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port: int = probe.getsockname()[1]
        self._folder = folder
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> None:
        binary = shutil.which("nats-server") or "/usr/sbin/nats-server"
        command = [binary, "-a", "127.0.0.1", "-p", str(self.port), "-js", "-sd", str(self._folder)]
        self._process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.1)
        raise RuntimeError("nats-server did not start")

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(timeout=10)
            self._process = None


@pytest.fixture
def nats_server(tmp_path: Path) -> Iterator[NatsServer]:
    server = NatsServer(tmp_path / "nats")
    server.start()
    yield server
    server.stop()


async def test_nats_outage_degrades_then_converges(
    settings: Settings, nats_server: NatsServer
) -> None:
    with_nats = settings.model_copy(update={"nats_url": nats_server.url})
    acme = loader.load([EXAMPLE_BUNDLE]).tenants["acme"]
    async with services(with_nats) as wired:
        await wired.registry.apply(Bundle(tenants={"acme": acme}))
        nats_server.stop()
        down = await wired.controller.reconcile("acme")
        assert down.result == "degraded" and "NATS is unavailable" in down.message
        assert await wired.controller.due() == ["acme"]
        nats_server.start()
        up = await wired.controller.reconcile("acme")
        assert up.result == "ready", up.message
        assert any(step.startswith("ensure messaging c_acme__prod") for step in up.steps)
        assert await wired.controller.due() == []
