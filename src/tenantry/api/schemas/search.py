"""Bodies of ``/api/v1/search``."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from tenantry.api.schemas.paths import DOC_ID_PATTERN
from tenantry.runtime.search.schemas import BODY_LIMIT, DOC_ID_LIMIT, TITLE_LIMIT, Hit


class DocumentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    doc_id: str = Field(
        description=f"ASCII letters, digits and '._:-', 1 to {DOC_ID_LIMIT} characters.",
        json_schema_extra={"pattern": DOC_ID_PATTERN, "minLength": 1, "maxLength": DOC_ID_LIMIT},
    )
    title: str = Field(json_schema_extra={"maxLength": TITLE_LIMIT})
    body: str = Field(
        description=f"At most {BODY_LIMIT} bytes as UTF-8.",
        json_schema_extra={"maxLength": BODY_LIMIT},  # characters: a bound the bytes stay within
    )
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
