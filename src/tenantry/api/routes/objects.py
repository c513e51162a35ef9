"""``/api/v1/objects``: the blobs of the caller's tenant environment, as raw bytes.

Keys are relative paths (``reports/2026/q1.pdf``); ``..``, ``.``, empty segments, a leading
``/``, backslashes and control characters are ``object_key.invalid``. An object keeps the
``Content-Type`` it was written with and is served with it, always with ``nosniff`` and a
``sandbox`` content security policy; any type a browser could run scripts in is also an
attachment (``runtime.objects.media.inline``), since objects are whatever tenants upload.

Each write gives the object a new strong ETag. ``If-Match`` (PUT, DELETE) and ``If-None-Match``
(PUT: ``*`` creates only; GET, HEAD: 304) are optional: without them the last writer wins.
HEAD answers GET's headers without the body.
"""

from __future__ import annotations

from typing import Annotated, Any, Final

from fastapi import APIRouter, Header, Query, Request, Response, status
from starlette.convertors import Convertor, register_url_convertor

from tenantry.api import etags
from tenantry.api.bodies import StrictJsonRoute
from tenantry.api.caller import Reader, Writer
from tenantry.api.paging import PageDep, PageOut, encode
from tenantry.api.problems import problem_responses
from tenantry.api.schemas.common import STORAGE_QUOTA
from tenantry.api.schemas.objects import ObjectEntry, ObjectWritten
from tenantry.api.schemas.paths import ObjectKeyPath
from tenantry.core import ids
from tenantry.runtime.objects import media
from tenantry.runtime.objects.errors import ObjectNotFound
from tenantry.runtime.objects.schemas import StoredObject
from tenantry.runtime.objects.store import DEFAULT_MAX_BYTES

_ANY_BINARY: Final[dict[str, Any]] = {"*/*": {"schema": {"type": "string", "format": "binary"}}}
_BINARY: Final[dict[str, Any]] = {
    **_ANY_BINARY,
    media.OCTETS: {"schema": {"type": "string", "format": "binary"}},
}
# What a browser must not do with a tenant's upload whatever its type: guess another type, or
# run it with the API's origin (the sandbox gives a rendered object an opaque origin, no
# scripts, no forms).
_GUARDS: Final = {"X-Content-Type-Options": "nosniff", "Content-Security-Policy": "sandbox"}
_ETAG: Final[dict[str, Any]] = {
    "ETag": {"description": "The object's strong ETag.", "schema": {"type": "string"}}
}
_LENGTH: Final[dict[str, Any]] = {
    "Content-Length": {"description": "The object's size in bytes.", "schema": {"type": "integer"}}
}
_SERVED: Final[dict[str, Any]] = {  # the Content-Type is the one the object was written with
    **_ETAG,
    "Content-Disposition": {
        "description": "`attachment` unless the type is passive media or plain data (image, "
        "audio and video types that are not XML-based, text/plain, text/csv, "
        "application/json, application/octet-stream).",
        "schema": {"type": "string"},
    },
    "Content-Security-Policy": {"description": "Always `sandbox`.", "schema": {"type": "string"}},
    "X-Content-Type-Options": {"description": "Always `nosniff`.", "schema": {"type": "string"}},
}

IfMatch = Annotated[
    str | None,
    Header(
        alias="If-Match",
        description='An ETag read (e.g. `"6f1c..."`) or `*`: the change applies only if the '
        "object is still at it (412 otherwise, or when there is no object). Optional: without "
        "it the last writer wins.",
    ),
]
IfNoneMatch = Annotated[
    str | None,
    Header(
        alias="If-None-Match",
        description="PUT: `*` writes only if there is no object at the key (412 otherwise). "
        "GET: ETags already held; 304 without a body when one of them is current.",
    ),
]


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
    route_class=StrictJsonRoute,
    responses=problem_responses(400, 401, 403, 503),
)


@router.get("", summary="List object keys")
async def list_objects(
    access: Reader,
    page: PageDep,
    prefix: Annotated[str, Query(description="Only keys that start with it.")] = "",
) -> PageOut[ObjectEntry]:
    """Keys in order; a page may hold fewer than ``limit`` while ``next_cursor`` is set."""
    listing = f"objects/{prefix}"
    found = await access.scope.objects.list(prefix, after=page.position(listing), limit=page.limit)
    return PageOut(
        items=[ObjectEntry(key=key) for key in found.items],
        next_cursor=encode(listing, found.next_cursor),
    )


@router.put(
    "/{key:object_key}",
    summary="Write an object",
    # 409: lost 8 races for the key; 412: If-Match or If-None-Match did not hold
    responses={
        200: {"headers": _ETAG},
        **STORAGE_QUOTA,
        **problem_responses(409, 412),
    },
    max_body_size=DEFAULT_MAX_BYTES,
    openapi_extra={"requestBody": {"required": True, "content": _BINARY}},
)
async def put_object(
    key: ObjectKeyPath,
    request: Request,
    access: Writer,
    *,
    response: Response,
    if_match: IfMatch = None,
    if_none_match: IfNoneMatch = None,
) -> ObjectWritten:
    """Store the request body at ``key`` with its ``Content-Type`` (none: octet-stream; a
    malformed one is 400 ``object.content_type_invalid``), replacing what was there."""
    conditions = etags.conditions(if_match, if_none_match)
    written = await access.scope.objects.put(
        key,
        await request.body(),
        content_type=_content_type(request),
        precondition=conditions.holds,
    )
    tag = response.headers["ETag"] = etags.etag(written.etag)
    return ObjectWritten(key=key, size=written.size, content_type=written.content_type, etag=tag)


@router.get(
    "/{key:object_key}",
    summary="Read an object",
    response_class=Response,
    responses={
        200: {
            "description": "The object, with the Content-Type it was written with.",
            "content": _ANY_BINARY,
            "headers": _SERVED,
        },
        304: {
            "description": "Not Modified: If-None-Match names the current ETag.",
            "headers": _ETAG,
        },
        **problem_responses(404),
    },
)
async def get_object(
    key: ObjectKeyPath, access: Reader, if_none_match: IfNoneMatch = None
) -> Response:
    """The object's bytes and type; 304 and no body when If-None-Match names its ETag."""
    held = None if if_none_match is None else etags.parse(if_none_match, name="If-None-Match")
    found = await access.scope.objects.get(key)
    if held is not None and held.matches_weakly(found.etag):
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers=_tagged(found))
    return Response(content=found.data, headers=_served(found))


@router.head(
    "/{key:object_key}",
    summary="Read an object's headers",
    response_class=Response,
    responses={
        200: {
            "description": "GET's headers (with Content-Length), without the body.",
            "headers": {**_SERVED, **_LENGTH},
        },
        304: {
            "description": "Not Modified: If-None-Match names the current ETag.",
            "headers": _ETAG,
        },
        **problem_responses(404),
    },
)
async def head_object(
    key: ObjectKeyPath, access: Reader, if_none_match: IfNoneMatch = None
) -> Response:
    """What GET answers, with the same access and conditions, and no body."""
    answer = await get_object(key, access, if_none_match)
    return Response(status_code=answer.status_code, headers=dict(answer.headers))


@router.delete(
    "/{key:object_key}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete an object",
    responses=problem_responses(404, 412),
)
async def delete_object(key: ObjectKeyPath, access: Writer, if_match: IfMatch = None) -> None:
    """Remove the object (only at the ETag If-Match names, when sent; 404 when there is none)."""
    condition = etags.conditions(if_match)
    if not await access.scope.objects.delete(key, precondition=condition.holds):
        raise ObjectNotFound(f"no object {ids.show(key)}")


def _content_type(request: Request) -> str | None:
    """The request's type as sent; several ``Content-Type`` fields make one malformed value."""
    sent = request.headers.getlist("content-type")
    return ", ".join(sent) if sent else None


def _tagged(found: StoredObject) -> dict[str, str]:
    return {"ETag": etags.etag(found.etag)}


def _served(found: StoredObject) -> dict[str, str]:
    headers = {**_tagged(found), "Content-Type": found.content_type, **_GUARDS}
    if not media.inline(found.content_type):
        headers["Content-Disposition"] = "attachment"
    return headers
