"""What one delivery attempt's answer means (pure): done, try again later, or the endpoint is
gone (a ``410``, which disables it)."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Verdict(enum.StrEnum):
    DELIVERED = "delivered"
    RETRY = "retry"
    GONE = "gone"


@dataclass(frozen=True, slots=True)
class Result:
    """One attempt: the answer's status (None when none came), its latency, what went wrong."""

    status_code: int | None
    latency_ms: int
    error: str | None = None

    @property
    def verdict(self) -> Verdict:
        if self.status_code is not None and 200 <= self.status_code < 300:
            return Verdict.DELIVERED
        if self.status_code == 410:
            return Verdict.GONE
        return Verdict.RETRY  # timeouts, refused connections, redirects, 4xx and 5xx alike

    @property
    def summary(self) -> str | None:
        if self.error is not None:
            return self.error[:256]
        if self.verdict is Verdict.DELIVERED:
            return None
        return f"HTTP {self.status_code}"
