"""``/api/v1/state/{session_id}``: a session's working memory (one JSON value) in the caller's
team. Values are replaced whole; there is no revision to match, so no ETag."""

from __future__ import annotations

from typing import Annotated, Final

from fastapi import APIRouter, Body, Query, status
from pydantic import JsonValue

from tenantry.api.bodies import StrictJsonRoute
from tenantry.api.caller import Reader, Writer
from tenantry.api.problems import problem_responses
from tenantry.api.schemas.common import STORAGE_QUOTA
from tenantry.api.schemas.paths import SessionIdPath
from tenantry.api.schemas.state import StateOut
from tenantry.core import ids
from tenantry.runtime.state import StateNotFound

MAX_BODY: Final = 1024 * 1024  # a value holds at most 256 KiB of compact JSON by default

router = APIRouter(
    prefix="/api/v1/state",
    tags=["state"],
    route_class=StrictJsonRoute,
    responses=problem_responses(400, 401, 403, 503),
)


def _missing(session_id: str) -> StateNotFound:
    return StateNotFound(f"no state for session {ids.show(session_id)}")


@router.get("/{session_id}", summary="Read a session's state", responses=problem_responses(404))
async def get_state(session_id: SessionIdPath, access: Reader) -> StateOut:
    value = await access.team.state.get(session_id)
    if value is None:
        raise _missing(session_id)
    return StateOut(session_id=session_id, team_id=access.ctx.team, value=value)


@router.put(
    "/{session_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Write a session's state",
    responses={**STORAGE_QUOTA, **problem_responses(409)},  # 409: state.busy
    max_body_size=MAX_BODY,
)
async def put_state(
    session_id: SessionIdPath,
    value: Annotated[JsonValue, Body(description="Any JSON value but null.")],
    access: Writer,
    ttl: Annotated[
        float | None, Query(description="Seconds until it expires; never when omitted.")
    ] = None,
) -> None:
    """Replace the value (and its expiry)."""
    await access.team.state.set(session_id, value, ttl=ttl)


@router.delete(
    "/{session_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a session's state",
    responses=problem_responses(404),
)
async def delete_state(session_id: SessionIdPath, access: Writer) -> None:
    if not await access.team.state.delete(session_id):
        raise _missing(session_id)
