"""When a failed delivery is tried again: jittered exponential backoff (pure).

30 s after the first failure, doubling to at most a day between attempts; with the default 15
attempts a delivery is retried for about three and a half days. Jitter spreads a burst of
failures (an endpoint that was down) so the retries do not come back at once.
"""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Final

FIRST: Final = 30.0
LONGEST: Final = 86_400.0
JITTER: Final = 0.25  # each delay is drawn from [1 - JITTER, 1] times its nominal value


def nominal(failures: int) -> float:
    """The delay in seconds after ``failures`` failed attempts (1 or more), before jitter."""
    return min(FIRST * 2.0 ** max(failures - 1, 0), LONGEST)


def delay(failures: int, *, rng: random.Random | None = None) -> timedelta:
    draw = (rng or random).uniform(1.0 - JITTER, 1.0)
    return timedelta(seconds=nominal(failures) * draw)


def schedule(attempts: int) -> list[float]:
    """The nominal delays between ``attempts`` attempts (for docs and tests)."""
    return [nominal(n) for n in range(1, attempts)]
