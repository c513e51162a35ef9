"""``make bench``: run every benchmark and print a Markdown table for docs/benchmarks.md."""

from __future__ import annotations

import platform

from bench import manifests, registry
from bench.harness import HEADER

SUITES = (manifests, registry)


def main() -> None:
    print(f"Python {platform.python_version()} on {platform.machine()}")
    print(HEADER)
    for suite in SUITES:
        for result in suite.run():
            print(result.row(), flush=True)


if __name__ == "__main__":
    main()
