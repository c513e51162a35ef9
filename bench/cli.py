"""CLI start-up, each call a fresh process: ``tenantry --version``, ``--help`` and Tab completion.

Anchors: ``python -c 'import typer, rich'`` (what any Typer CLI with Rich help loads) and the
same calls on a minimal two-command Typer app. Targets (issue 10): ``--version`` within 2x of
the import, ``--help`` within 1.5x of the minimal app's.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

from bench.harness import Result

RUNS = 9
MINIMAL_APP = '''
import typer

app = typer.Typer()


@app.command()
def hello(name: str) -> None:
    """Say hello."""
    print(f"hello {name}")


@app.command()
def bye(name: str) -> None:
    """Say goodbye."""
    print(f"bye {name}")


app()
'''


def _medians(calls: Mapping[str, tuple[list[str], Mapping[str, str]]]) -> dict[str, float]:
    """The median wall time of each call, the calls taking turns so that load hits all alike."""
    samples: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(RUNS):
        for name, (args, env) in calls.items():
            start = time.perf_counter()
            subprocess.run(args, env={**os.environ, **env}, stdout=subprocess.DEVNULL, check=False)
            samples[name].append(time.perf_counter() - start)
    return {name: statistics.median(times) for name, times in samples.items()}


def _completion(prog: str) -> dict[str, str]:
    return {
        f"_{prog.upper()}_COMPLETE": "complete_bash",
        "COMP_WORDS": f"{prog} ",
        "COMP_CWORD": "1",
    }


def run() -> list[Result]:
    python = sys.executable
    tenantry = str(Path(python).parent / "tenantry")
    with tempfile.TemporaryDirectory() as folder:
        minimal = str(Path(folder) / "minimal.py")
        Path(minimal).write_text(MINIMAL_APP)
        m = _medians(
            {
                "imports": ([python, "-c", "import typer, rich"], {}),
                "version": ([tenantry, "--version"], {}),
                "minimal help": ([python, minimal, "--help"], {}),
                "help": ([tenantry, "--help"], {}),
                "minimal tab": ([python, minimal], _completion("minimal.py")),
                "tab": ([tenantry], _completion("tenantry")),
            }
        )
    return [
        Result(
            "cli: tenantry --version (target <= 2x)",
            m["version"],
            m["imports"],
            "import typer, rich",
        ),
        Result(
            "cli: tenantry --help (target <= 1.5x)",
            m["help"],
            m["minimal help"],
            "2-command app --help",
        ),
        Result(
            "cli: Tab completion of a command name",
            m["tab"],
            m["minimal tab"],
            "2-command app, same",
        ),
    ]
