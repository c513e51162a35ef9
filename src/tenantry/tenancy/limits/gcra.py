"""The generic cell rate algorithm (GCRA), as one pure function.

State is a single number per key, the *theoretical arrival time* (TAT): when the key would be
idle again if every admitted request were spaced exactly ``1 / rate`` apart. A request of
``cost`` is admitted when pushing the TAT by ``cost / rate`` keeps it no more than
``burst / rate`` ahead of now. So from idle, ``burst`` requests pass at once, and over any
window of ``w`` seconds at most ``rate * w + burst`` pass. The Redis limiter's Lua script does
the same arithmetic in the same order (``backends/redis/gcra.lua``), so both agree exactly.
"""

from __future__ import annotations

import math
from typing import Final, NamedTuple

EPSILON: Final = 1e-9  # absorbs float rounding at the exact edge of the tolerance


class Decision(NamedTuple):
    allowed: bool
    tat: float  # the new TAT to store (unchanged when refused)
    retry_after: float  # seconds until the same request would pass; 0 when allowed
    remaining: int  # requests of cost 1 that would still pass right now
    reset: float  # seconds until the key is idle (full burst available) again


def check(rate: float, burst: int, cost: int) -> None:
    if not (rate > 0 and math.isfinite(rate)):
        raise ValueError(f"rate must be a positive number, not {rate!r}")
    if burst < 1:
        raise ValueError(f"burst must be at least 1, not {burst!r}")
    if not 1 <= cost <= burst:
        raise ValueError(f"cost must be between 1 and the burst ({burst}), not {cost!r}")


def decide(tat: float, now: float, rate: float, burst: int, cost: int = 1) -> Decision:
    """Admit or refuse one request of ``cost`` at ``now`` given the stored ``tat``."""
    check(rate, burst, cost)
    interval = 1.0 / rate
    tolerance = interval * burst
    base = max(tat, now)
    new_tat = base + cost * interval
    ahead = new_tat - now
    if ahead > tolerance + EPSILON:
        return Decision(False, tat, ahead - tolerance, 0, base - now)
    remaining = max(0, math.floor((tolerance - ahead) / interval + EPSILON))
    return Decision(True, new_tat, 0.0, remaining, ahead)
