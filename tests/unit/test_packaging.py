"""Installable where users are: every Python the code supports, and `make run` without dev tools."""

from __future__ import annotations

import shutil
import subprocess
import tomllib

import pytest
from packaging.specifiers import SpecifierSet

from tests.conftest import REPO


def test_newer_pythons_may_install_it() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    allowed = SpecifierSet(project["requires-python"])
    assert {"3.11.0", "3.12.0", "3.13.0", "3.14.0"} <= set(
        allowed.filter(["3.10.0", "3.11.0", "3.12.0", "3.13.0", "3.14.0"])
    ) and "3.10.0" not in allowed
    lock = tomllib.loads((REPO / "uv.lock").read_text())
    assert lock["requires-python"] == project["requires-python"]


@pytest.mark.skipif(shutil.which("make") is None, reason="no make")
def test_make_run_installs_no_dev_tool() -> None:
    recipe = subprocess.run(
        ["make", "-n", "run"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout
    syncs = [line for line in recipe.splitlines() if " sync " in line]
    runs = [line for line in recipe.splitlines() if " run " in line and "tenantry up" in line]
    assert syncs and all("--no-dev" in line for line in syncs), recipe
    assert runs and all("--no-dev" in line for line in runs), recipe
