"""Bodies of ``/api/v1/objects`` (the objects themselves travel as raw bytes)."""

from __future__ import annotations

from pydantic import BaseModel


class ObjectEntry(BaseModel):
    key: str


class ObjectWritten(BaseModel):
    key: str
    size: int
