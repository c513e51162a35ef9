"""Bodies of ``/api/v1/objects`` (the objects themselves travel as raw bytes)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class ObjectEntry(BaseModel):
    key: str


class ObjectWritten(BaseModel):
    key: str
    size: int = Field(description="The object's bytes (what was sent, not what is stored).")
    content_type: str = Field(description="The media type stored with it, normalised.")
    etag: str = Field(description="The new ETag, as in the `ETag` header.")
