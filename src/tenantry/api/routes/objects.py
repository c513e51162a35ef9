"""``/api/v1/objects``: the blobs of the caller's tenant environment, as raw bytes.

Keys are relative paths (``reports/2026/q1.pdf``); ``..``, ``.``, empty segments, a leading
``/``, backslashes and control characters are ``object_key.invalid``. Objects are served as
``application/octet-stream`` with ``nosniff``: the store keeps bytes only, not their type.
"""

from __future__ import annotations

from typing import Annotated, Any, Final

from fastapi import APIRouter, Query, Request, Response, status
from starlette.convertors import Convertor, register_url_convertor

from tenantry.api.caller import CallerDep
from tenantry.api.paging import PageDep, PageOut, encode
from tenantry.api.problems import problem_responses
from tenantry.api.schemas.common import STORAGE_QUOTA
from tenantry.api.schemas.objects import ObjectEntry, ObjectWritten
from tenantry.api.schemas.paths import ObjectKeyPath
from tenantry.core import ids
from tenantry.runtime.objects.errors import ObjectNotFound
from tenantry.runtime.objects.store import DEFAULT_MAX_BYTES
from tenantry.tenancy.access.permissions import Action

OCTETS: Final = "application/octet-stream"
_BINARY: Final[dict[str, Any]] = {OCTETS: {"schema": {"type": "string", "format": "binary"}}}
_RAW_HEADERS: Final = {"Content-Type": OCTETS, "X-Content-Type-Options": "nosniff"}


class _ObjectKey(Convertor[str]):
    """Any path at all: ``{key:path}`` stops at a newline, and then a bad key would be a 404
    route instead of the store's clear ``object_key.invalid``."""

    regex = r"[\s\S]*"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("object_key", _ObjectKey())

router = APIRouter(
    prefix="/api/v1/objects",
    tags=["objects"],
    responses=problem_responses(400, 401, 403, 503),
)


@router.get("", summary="List object keys")
async def list_objects(
    caller: CallerDep,
    page: PageDep,
    prefix: Annotated[str, Query(description="Only keys that start with it.")] = "",
) -> PageOut[ObjectEntry]:
    """Keys in order; a page may hold fewer than ``limit`` while ``next_cursor`` is set."""
    caller.require(Action.READ)
    listing = f"objects/{prefix}"
    found = await caller.scope.objects.list(prefix, after=page.position(listing), limit=page.limit)
    return PageOut(
        items=[ObjectEntry(key=key) for key in found.items],
        next_cursor=encode(listing, found.next_cursor),
    )


@router.put(
    "/{key:object_key}",
    summary="Write an object",
    responses={**STORAGE_QUOTA, **problem_responses(409)},  # 409: lost 8 races for the key
    max_body_size=DEFAULT_MAX_BYTES,
    openapi_extra={"requestBody": {"required": True, "content": _BINARY}},
)
async def put_object(key: ObjectKeyPath, request: Request, caller: CallerDep) -> ObjectWritten:
    """Store the request body at ``key``, replacing what was there."""
    caller.require(Action.WRITE)
    data = await request.body()
    await caller.scope.objects.put(key, data)
    return ObjectWritten(key=key, size=len(data))


@router.get(
    "/{key:object_key}",
    summary="Read an object",
    response_class=Response,
    responses={200: {"content": _BINARY}, **problem_responses(404)},
)
async def get_object(key: ObjectKeyPath, caller: CallerDep) -> Response:
    caller.require(Action.READ)
    data = await caller.scope.objects.get(key)
    return Response(content=data, headers=_RAW_HEADERS)


@router.delete(
    "/{key:object_key}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete an object",
    responses=problem_responses(404),
)
async def delete_object(key: ObjectKeyPath, caller: CallerDep) -> None:
    caller.require(Action.WRITE)
    if not await caller.scope.objects.delete(key):
        raise ObjectNotFound(f"no object {ids.show(key)}")
