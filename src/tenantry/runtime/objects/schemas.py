"""What the object store hands back, and the preconditions a change may carry."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

Precondition = Callable[[str | None], bool]
"""Given the object's current ETag (None when there is none), whether the change may go ahead.
It is asked under the store's conditional write, so a change that loses a race to another writer
is asked again about what that writer left."""


@dataclass(frozen=True, slots=True)
class StoredObject:
    data: bytes
    content_type: str
    etag: str  # unquoted; a new one for every write


@dataclass(frozen=True, slots=True)
class Written:
    """What a put stored: the object's size (its data, not the sealed record), type and ETag."""

    size: int
    content_type: str
    etag: str
