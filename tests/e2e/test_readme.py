"""The README's commands paste and run in a fresh clone: its CLI blocks in a copy of
``examples/``, and its API tour against a served ``tenantry up``."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.e2e.test_up import server

__all__ = ["server"]  # the fixture, served from tests/e2e/test_up.py

README = (REPO / "README.md").read_text()
BLOCKS = re.findall(r"```sh\n(.*?)```", README, flags=re.DOTALL)
SAFE = (
    "validate",
    "plan",
    "apply",
    "tenants",
    "plans",
    "reconcile",
    "migrate",
    "suspend",
    "resume",
    "jobs",
    "flows",
    "audit",
    "policies",
)
SINGLE = "TENANTRY_SINGLE_TENANT"
TENANTRY = f"{shlex.quote(sys.executable)} -m tenantry.cli"


def _commands() -> list[str]:
    offline = [  # the others need a server, or set the deployment for the whole block
        block for block in BLOCKS if "$API" not in block and SINGLE not in block
    ]
    lines = [line.strip() for block in offline for line in block.splitlines()]
    return [line for line in lines if re.match(rf"uv run tenantry ({'|'.join(SAFE)})\b", line)]


def _env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TENANTRY_")}
    return env | {"TENANTRY_DATA_DIR": str(data_dir)}


def _bash(script: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    script = script.replace("uv run tenantry", TENANTRY)
    return subprocess.run(
        ["bash", "-c", script],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_the_readme_points_only_inside_the_repository() -> None:
    assert "../shared" not in README
    assert len(_commands()) >= 10


def test_every_cli_block_runs_in_a_clone(tmp_path: Path) -> None:
    shutil.copytree(REPO / "examples", tmp_path / "examples")
    for command in _commands():
        done = _bash(command, tmp_path, _env(tmp_path / ".tenantry"))
        assert done.returncode == 0, (command, done.stdout, done.stderr)


@pytest.mark.skipif(shutil.which("curl") is None, reason="the tour uses curl")
def test_the_api_tour_runs_against_a_served_bundle(server: str, tmp_path: Path) -> None:
    (tour,) = [block for block in BLOCKS if "api -X POST $API/sessions" in block]
    tour = tour.replace("http://127.0.0.1:8080", server)
    done = _bash(f"set -eu\n{tour}", tmp_path, _env(tmp_path / "data"))
    assert done.returncode == 0, done.stderr
    assert "urn:tenantry:problem" not in done.stdout, done.stdout
    for expected in ('"revision":2', '"cart":["book"]', '"value":"s3cr3t"', "eu,42", "faq-1"):
        assert expected in done.stdout, (expected, done.stdout)
    assert "content-length: 19" in done.stdout.lower()


@pytest.mark.skipif(shutil.which("curl") is None, reason="the tour uses curl")
def test_a_tenants_life_runs_against_a_served_bundle(server: str, tmp_path: Path) -> None:
    (life,) = [block for block in BLOCKS if "tenantry delete zeta" in block]
    life = life.replace("http://127.0.0.1:8080", server)
    done = _bash(f"set -eu\n{life}", tmp_path, _env(tmp_path / "data"))
    assert done.returncode == 0, (done.stdout, done.stderr)
    assert '"lifecycle_state":"deleted"' in done.stdout.replace(" ", ""), done.stdout
    for kind in ("suspend", "resume", "migrate", "archive", "restore", "delete"):
        assert kind in done.stdout, (kind, done.stdout)


@pytest.mark.skipif(shutil.which("curl") is None, reason="the conversation uses curl")
def test_the_conversation_runs_against_a_served_bundle(server: str, tmp_path: Path) -> None:
    (talk,) = [block for block in BLOCKS if "say $ACME" in block]
    talk = talk.replace("http://127.0.0.1:8080", server)
    done = _bash(f"set -eu\n{talk}", tmp_path, _env(tmp_path / "data"))
    assert done.returncode == 0, (done.stdout, done.stderr)
    acme, bigcorp, link = done.stdout.strip().splitlines()
    assert "Welcome to ACME Support! How can I help?" in acme, acme
    assert "BigCorp Helpdesk here." in bigcorp and "ACME" not in bigcorp, bigcorp
    assert link.startswith(f"open {server}/chat#token=ey"), link


def test_the_single_tenant_block_runs_as_a_whole(tmp_path: Path) -> None:
    (block,) = [block for block in BLOCKS if SINGLE in block]
    shutil.copytree(REPO / "examples", tmp_path / "examples")
    done = _bash(f"set -eu\n{block}", tmp_path, _env(tmp_path / ".tenantry"))
    assert done.returncode == 0, (done.stdout, done.stderr)
    assert "refused: exit 6" in done.stdout, done.stdout
    listed = done.stdout.split("refused: exit 6", 1)[1]
    assert "acme" in listed and "bigcorp" not in listed, listed
