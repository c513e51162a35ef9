"""A tiny timing harness: best-of-N wall time, and the ratio against an anchor."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Result:
    name: str
    ours: float  # seconds, median of the runs
    anchor: float
    anchor_name: str
    unit: str = "s"

    @property
    def ratio(self) -> float:
        """How many times slower than the anchor we are (1.0 = as fast; < 1.0 = faster)."""
        return self.ours / self.anchor

    def row(self) -> str:
        return (
            f"| {self.name} | {_shown(self.ours, self.unit)} | {self.anchor_name} | "
            f"{_shown(self.anchor, self.unit)} | {self.ratio:.3g}x | {1 / self.ratio:.3g}x |"
        )


def _shown(value: float, unit: str) -> str:
    return f"{value * 1000:.2f} ms" if unit == "s" else f"{value:.1f} {unit}"


def median_time(work: Callable[[], object], *, runs: int = 7) -> float:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        work()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


HEADER = (
    "| benchmark | tenantry | anchor | anchor figure | ours / anchor | speed-up |\n"
    "|---|---|---|---|---|---|"
)
