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
            f"| {self.name} | {self.ours * 1000:.2f} ms | {self.anchor_name} | "
            f"{self.anchor * 1000:.2f} ms | {self.ratio:.2f}x |"
        )


def median_time(work: Callable[[], object], *, runs: int = 7) -> float:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        work()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


HEADER = (
    "| benchmark | tenantry | anchor | anchor time | ratio (ours / anchor) |\n|---|---|---|---|---|"
)
