"""``/api/v1/search``: full-text search over the documents of the caller's tenant environment.

Queries use web-search syntax: words are ANDed, ``"a phrase"``, ``or``, ``-word``.
"""

from __future__ import annotations

from typing import Annotated, Final

from fastapi import APIRouter, Query, status

from tenantry.api import idempotency
from tenantry.api.caller import Reader, Writer
from tenantry.api.problems import problem_responses
from tenantry.api.schemas.common import TOO_LARGE
from tenantry.api.schemas.paths import DocIdPath
from tenantry.api.schemas.search import DocumentIn, DocumentIndexed, HitOut, SearchResults
from tenantry.core.errors import NotFound
from tenantry.core.ids import show
from tenantry.runtime.search.schemas import OFFSET_LIMIT, PAGE_LIMIT, QUERY_LIMIT

MAX_BODY: Final = 1024 * 1024  # a body holds at most 128 KiB, its fields 16 KiB


class DocumentNotFound(NotFound):
    code = "search.document_not_found"


router = APIRouter(
    prefix="/api/v1/search",
    tags=["search"],
    route_class=idempotency.IdempotentRoute,
    responses=problem_responses(400, 401, 403, 503),
)


@router.get("", summary="Search documents")
async def search(
    access: Reader,
    q: Annotated[str, Query(description=f"The query, 1 to {QUERY_LIMIT} characters.")],
    limit: Annotated[int, Query(description=f"1 to {PAGE_LIMIT}.")] = 10,
    offset: Annotated[int, Query(description=f"0 to {OFFSET_LIMIT}.")] = 0,
) -> SearchResults:
    """Best matches first."""
    hits = await access.scope.search.search(q, limit=limit, offset=offset)
    return SearchResults(items=[HitOut.of(hit) for hit in hits], limit=limit, offset=offset)


@router.post(
    "/documents",
    status_code=status.HTTP_201_CREATED,
    summary="Index a document",
    dependencies=[idempotency.IDEMPOTENT],
    responses={**idempotency.RESPONSES, **TOO_LARGE},
    max_body_size=MAX_BODY,
)
async def index_document(body: DocumentIn, access: Writer) -> DocumentIndexed:
    """Add the document, or replace the one with the same id."""
    await access.scope.search.index(
        body.doc_id, title=body.title, body=body.body, fields=body.fields
    )
    return DocumentIndexed(doc_id=body.doc_id)


@router.delete(
    "/documents/{doc_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Remove a document",
    responses=problem_responses(404),
)
async def delete_document(doc_id: DocIdPath, access: Writer) -> None:
    if not await access.scope.search.delete(doc_id):
        raise DocumentNotFound(f"no document {show(doc_id)}")
