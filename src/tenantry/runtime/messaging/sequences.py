"""Numbering each session's messages at ingress, so runners keep their order (``Envelope.seq``).

A counter per session (``names.session_seq_key``), shared by every process that accepts
messages: Redis ``INCR`` when Redis is configured, a SQLite upsert on the embedded default. A
number taken for a message that was then not published is given back if no later one was taken
meanwhile; otherwise the runner skips the gap after ``order_gap_seconds``.
"""

from __future__ import annotations

from typing import Final, Protocol

IDLE_DAYS: Final = 30  # a counter untouched this long is forgotten (the runner copes: see gate)


class SessionSequences(Protocol):
    async def next(self, key: str) -> int:
        """The next number of the session counted at ``key`` (1 for its first message)."""
        ...

    async def give_back(self, key: str, seq: int) -> None:
        """Undo ``next`` if it returned ``seq`` and nothing was taken since."""
        ...

    async def close(self) -> None: ...
