"""``/api/v1/sessions``: the conversations of the caller's team (``X-Team-ID``; none is the
``default`` team), in the caller's tenant environment.

Each session's ETag is its revision. Changes (``PUT``, ``PATCH``) must send ``If-Match``
(428 without, 412 when it no longer matches, including a change that lost a race);
``DELETE`` honours it when sent.
"""

from __future__ import annotations

from typing import Final

from fastapi import APIRouter, Response, status

from tenantry.api import etags, idempotency
from tenantry.api.caller import Reader, Writer
from tenantry.api.paging import PageDep, PageOut, encode
from tenantry.api.problems import problem_responses
from tenantry.api.proofs import WriteAccess
from tenantry.api.schemas.common import STORAGE_QUOTA
from tenantry.api.schemas.paths import SessionIdPath
from tenantry.api.schemas.sessions import (
    SessionCreate,
    SessionOut,
    SessionPatch,
    SessionReplace,
    SessionSummary,
)
from tenantry.core import ids
from tenantry.runtime.sessions.errors import SessionNotFound
from tenantry.runtime.sessions.schemas import Session

PREFIX: Final = "/api/v1/sessions"
MAX_BODY: Final = 4 * 1024 * 1024  # a session record holds at most 1 MiB of CBOR

router = APIRouter(
    prefix=PREFIX,
    tags=["sessions"],
    route_class=idempotency.IdempotentRoute,
    responses=problem_responses(400, 401, 403, 503),
)
_CHANGE = {**problem_responses(404, 412, 428), **STORAGE_QUOTA}


def _listing(team: str | None) -> str:
    return f"sessions/{team or ids.DEFAULT_TEAM}"


def _render(response: Response, session: Session) -> SessionOut:
    response.headers["ETag"] = etags.etag(session.revision)
    return SessionOut.of(session)


@router.get("", summary="List the team's sessions")
async def list_sessions(access: Reader, page: PageDep) -> PageOut[SessionSummary]:
    """Sessions of the caller's team, by id, without variables and transcripts."""
    listing = _listing(access.ctx.team_id)
    found = await access.team.sessions.list(after=page.position(listing), limit=page.limit)
    return PageOut(
        items=[SessionSummary.of(s) for s in found.items],
        next_cursor=encode(listing, found.next_cursor),
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Create a session",
    dependencies=[idempotency.IDEMPOTENT],
    responses={**problem_responses(409), **idempotency.RESPONSES, **STORAGE_QUOTA},
    max_body_size=MAX_BODY,
)
async def create_session(body: SessionCreate, access: Writer, response: Response) -> SessionOut:
    """A new session at revision 1 in the caller's team; 409 if a live one has that id, 404 if
    the team has no channel ``channel_id``."""
    created = await access.team.sessions.create(
        body.session_id,
        channel=body.channel_id,
        user=body.user_id,
        cursor=None if body.cursor is None else body.cursor.domain(),
        variables=body.variables,
        transcript=body.entries(),
        ttl=body.ttl(),
    )
    response.headers["Location"] = f"{PREFIX}/{created.session_id}"
    return _render(response, created)


@router.get("/{session_id}", summary="Read a session", responses=problem_responses(404))
async def get_session(session_id: SessionIdPath, access: Reader, response: Response) -> SessionOut:
    """The session with its variables and transcript; the ETag is its revision."""
    return _render(response, await access.team.sessions.get(session_id))


async def _changed(
    access: WriteAccess,
    session_id: str,
    body: SessionReplace | SessionPatch,
    response: Response,
    if_match: str | None,
) -> SessionOut:
    """Apply ``body`` to the session at the revision ``If-Match`` names (required)."""
    condition = etags.required(if_match)
    store = access.team.sessions
    current = await store.get(session_id)
    etags.matched(condition, current.revision)
    return _render(response, await store.update(body.applied(current), ttl=body.ttl()))


@router.put(
    "/{session_id}",
    summary="Replace a session's content",
    responses=_CHANGE,
    max_body_size=MAX_BODY,
)
async def replace_session(
    session_id: SessionIdPath,
    body: SessionReplace,
    access: Writer,
    response: Response,
    if_match: etags.IfMatchHeader = None,
) -> SessionOut:
    """Replace variables, cursor and transcript at the revision If-Match names."""
    return await _changed(access, session_id, body, response, if_match)


@router.patch(
    "/{session_id}", summary="Change part of a session", responses=_CHANGE, max_body_size=MAX_BODY
)
async def patch_session(
    session_id: SessionIdPath,
    body: SessionPatch,
    access: Writer,
    response: Response,
    if_match: etags.IfMatchHeader = None,
) -> SessionOut:
    """Merge variables, set the cursor, append transcript entries, at the revision If-Match
    names."""
    return await _changed(access, session_id, body, response, if_match)


@router.delete(
    "/{session_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a session",
    responses=problem_responses(404, 412),
)
async def delete_session(
    session_id: SessionIdPath, access: Writer, if_match: etags.IfMatchHeader = None
) -> None:
    """Remove the session (only at the revision If-Match names, when sent)."""
    store = access.team.sessions
    revision = None
    if if_match is not None:
        condition = etags.parse(if_match)
        revision = etags.matched(condition, (await store.get(session_id)).revision)
    if not await store.delete(session_id, revision=revision):
        raise SessionNotFound(f"no session {ids.show(session_id)}")
