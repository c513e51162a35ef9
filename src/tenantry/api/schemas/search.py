"""Bodies of ``/api/v1/search``."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from tenantry.runtime.search.schemas import Hit


class DocumentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    doc_id: str = Field(description="ASCII letters, digits and '._:-', 1 to 128 characters.")
    title: str
    body: str
    fields: dict[str, JsonValue] | None = Field(None, description="Stored, returned with hits.")


class DocumentIndexed(BaseModel):
    doc_id: str


class HitOut(BaseModel):
    doc_id: str
    title: str
    snippet: str = Field(description="A passage of the body, matched words between « and ».")
    rank: float
    fields: dict[str, Any]

    @classmethod
    def of(cls, hit: Hit) -> HitOut:
        return cls(
            doc_id=hit.doc_id,
            title=hit.title,
            snippet=hit.snippet,
            rank=hit.rank,
            fields=hit.fields,
        )


class SearchResults(BaseModel):
    items: list[HitOut]
    limit: int
    offset: int
