"""The bus's limits and redelivery backoff, the same for every bus backend."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

BACKOFF: Final = (1.0, 5.0, 15.0, 60.0)  # seconds before the 2nd, 3rd, 4th... delivery


@dataclass(frozen=True, slots=True)
class BusLimits:
    max_msgs: int = 10_000  # kept (unacknowledged) messages per direction and tenant environment
    ack_wait: float = 30.0  # seconds before an unacknowledged delivery is redelivered
    dedup_window: float = 120.0  # seconds a message id is remembered


def backoff(attempts: int) -> float:
    """Seconds before delivering again a message delivered ``attempts`` times and nak'ed."""
    return BACKOFF[min(max(attempts - 1, 0), len(BACKOFF) - 1)]
