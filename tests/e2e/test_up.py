"""`tenantry up` end to end: a real process on loopback, on the embedded default."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import EXAMPLE_BUNDLE

TOKEN = "e2e-admin-token"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TENANTRY_")}
    env |= {"TENANTRY_DATA_DIR": str(tmp_path / "data"), "TENANTRY_ADMIN_TOKEN": TOKEN}
    command = [
        sys.executable,
        "-m",
        "tenantry.cli",
        "up",
        "--bundle",
        str(EXAMPLE_BUNDLE),
        "--port",
        str(port),
    ]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(base, process)
        yield base
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=20)
        assert process.returncode == 0, output.decode(errors="replace")


def _wait_ready(base: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = process.stdout.read().decode(errors="replace") if process.stdout else ""
            pytest.fail(f"tenantry up exited with {process.returncode}:\n{output}")
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    pytest.fail("tenantry up did not become ready within 30 s")


def test_up_applies_the_bundle_and_serves_the_api(server: str, tmp_path: Path) -> None:
    assert httpx.get(f"{server}/healthz").json() == {"status": "ok"}
    headers = {"Authorization": f"Bearer {TOKEN}"}
    listing = httpx.get(f"{server}/api/v1/tenants", headers=headers)
    assert listing.status_code == 200
    assert [t["id"] for t in listing.json()["items"]] == ["acme", "bigcorp"]
    assert httpx.get(f"{server}/api/v1/tenants").status_code == 401
    assert (tmp_path / "data" / "control.sqlite3").is_file()


def test_a_busy_port_says_so_before_making_a_token(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TENANTRY_")}
    env["TENANTRY_DATA_DIR"] = str(tmp_path / "data")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        command = [sys.executable, "-m", "tenantry.cli", "up", "--bundle", str(EXAMPLE_BUNDLE)]
        done = subprocess.run(
            [*command, "--port", port],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert done.returncode == 4  # conflict: cli/exit_codes.py, the README's table
    assert f"127.0.0.1:{port}: the address is already in use" in done.stderr
    assert "token" not in done.stdout + done.stderr.replace("--port", "")
    assert not (tmp_path / "data" / "control.sqlite3").exists()  # nothing applied either
