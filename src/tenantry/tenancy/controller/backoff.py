"""Retry delays: exponential with full jitter, capped."""

from __future__ import annotations

import random


def delay(
    attempt: int, *, base: float = 1.0, cap: float = 300.0, rng: random.Random | None = None
) -> float:
    """Seconds before retry ``attempt`` (0-based): uniform in ``[0, min(cap, base * 2**n)]``."""
    ceiling = min(cap, base * 2 ** min(attempt, 32))
    return (rng or random).uniform(0, ceiling)
