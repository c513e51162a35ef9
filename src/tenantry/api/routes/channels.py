"""``/api/v1/channels/{channel_id}``: the webchat channel of the caller's team.

Post a user's message (202: it is on the channel's ingress, the runner answers it), read the
session's outgoing messages after a position (a long-poll with ``wait``) or follow them as
server-sent events, and mint visitor credentials, each bound to one conversation, for a browser
(``/chat``). Team members' credentials reach every session of the team on the channel; a
visitor's only its own. See docs/messaging.md, section Webchat.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Final

from fastapi import APIRouter, Header, Query, status
from fastapi.responses import StreamingResponse

from tenantry.api import idempotency
from tenantry.api.caller import VisitorMinter
from tenantry.api.conversations import ConversationListener, ConversationWriter
from tenantry.api.deps import ServicesDep
from tenantry.api.problems import problem_responses
from tenantry.api.proofs import ConversationAccess
from tenantry.api.schemas.channels import (
    MessageAccepted,
    MessageIn,
    MessageOut,
    MessagesOut,
    VisitorIn,
    VisitorOut,
)
from tenantry.api.schemas.common import STORAGE_QUOTA
from tenantry.api.schemas.paths import ChannelIdPath, id_rules
from tenantry.core.ids import IdKind
from tenantry.runtime.messaging.ingress import Inbound
from tenantry.runtime.messaging.webchat import MAX_WAIT, Outgoing, Webchat
from tenantry.tenancy.lifecycle.fence.inflight import InFlight

PREFIX: Final = "/api/v1/channels"
MAX_BODY: Final = 64 * 1024
MAX_STREAM: Final = 3600.0  # seconds an event stream stays open; the client then reconnects
STREAM: Final = 300.0

router = APIRouter(
    prefix=PREFIX,
    tags=["channels"],
    route_class=idempotency.IdempotentRoute,
    responses=problem_responses(400, 401, 403, 404, 423, 429, 503),
)
SessionQuery = Annotated[
    str, Query(description="The conversation.", json_schema_extra=id_rules(IdKind.SESSION))
]
After = Annotated[
    int | None,
    Query(ge=0, description="Only messages after this position (left out: from the first)."),
]


def _webchat(services: ServicesDep) -> Webchat:
    return Webchat(services.bus, services.ingress)


@router.post(
    "/{channel_id}/messages",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Post a user's message",
    dependencies=[idempotency.IDEMPOTENT],
    responses={**idempotency.RESPONSES, **STORAGE_QUOTA},
    max_body_size=MAX_BODY,
)
async def post_message(
    channel_id: ChannelIdPath, body: MessageIn, access: ConversationWriter, services: ServicesDep
) -> MessageAccepted:
    """Publish the message on the channel's ingress (a new session without ``session_id``);
    the flow's replies become the session's outgoing messages."""
    inbound = Inbound(
        channel_id=access.channel_id,
        user_id=access.user(body.user_id),
        text=body.text,
        session_id=access.session(body.session_id),
    )
    accepted = await _webchat(services).post(access.scope, inbound)
    return MessageAccepted(message_id=accepted.message_id, session_id=accepted.session_id)


@router.get("/{channel_id}/messages", summary="Read a session's outgoing messages")
async def get_messages(
    channel_id: ChannelIdPath,
    session_id: SessionQuery,
    *,
    access: ConversationListener,
    services: ServicesDep,
    after: After = None,
    wait: Annotated[
        float, Query(ge=0, le=MAX_WAIT, description="Seconds to wait for the first message.")
    ] = 0.0,
) -> MessagesOut:
    """The outgoing messages after position ``after``, waiting up to ``wait`` seconds for the
    first (a long-poll: it answers as soon as one is there)."""
    session = access.session(session_id)
    webchat = _webchat(services)
    start = -1 if after is None else after
    async with services.fence.inflight.long_lived(access.ctx.tenant_id) as closing:
        found = await webchat.read(
            access.scope, access.channel_id, session, after=start, wait=wait, stop=closing
        )
        closing.check()
    last = found[-1].position if found else after
    return MessagesOut(
        session_id=session, messages=[MessageOut.of(m) for m in found], next_after=last
    )


@router.get(
    "/{channel_id}/events",
    summary="Follow a session's outgoing messages (server-sent events)",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def get_events(
    channel_id: ChannelIdPath,
    session_id: SessionQuery,
    *,
    access: ConversationListener,
    services: ServicesDep,
    after: After = None,
    wait: Annotated[
        float, Query(ge=0, le=MAX_STREAM, description="Seconds the stream stays open.")
    ] = STREAM,
    last_event_id: Annotated[
        int | None, Header(ge=0, description="The last position received: resume after it.")
    ] = None,
) -> StreamingResponse:
    """Each outgoing message as an event (``id:`` its position, ``data:`` the message as
    JSON), from ``Last-Event-ID`` (or ``after``) on, for ``wait`` seconds."""
    session = access.session(session_id)
    webchat = _webchat(services)
    await webchat.session(access.scope, access.channel_id, session)  # 404 before streaming
    start = last_event_id if last_event_id is not None else after
    events = _events(
        webchat,
        access,
        session,
        after=-1 if start is None else start,
        wait=wait,
        inflight=services.fence.inflight,
    )
    return StreamingResponse(
        events,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


async def _events(
    webchat: Webchat,
    access: ConversationAccess,
    session: str,
    *,
    after: int,
    wait: float,
    inflight: InFlight,
) -> AsyncIterator[bytes]:
    async with inflight.long_lived(access.ctx.tenant_id) as closing:
        messages = webchat.follow(
            access.scope, access.channel_id, session, after=after, wait=wait, stop=closing
        )
        async for message in messages:
            yield _event(message)


def _event(message: Outgoing) -> bytes:
    data = MessageOut.of(message).model_dump_json()
    return f"id: {message.position}\nevent: message\ndata: {data}\n\n".encode()


@router.post(
    "/{channel_id}/visitors",
    status_code=status.HTTP_201_CREATED,
    summary="Mint a visitor credential for one conversation",
    responses=STORAGE_QUOTA,
    max_body_size=MAX_BODY,
)
async def mint_visitor(
    channel_id: ChannelIdPath, body: VisitorIn, access: VisitorMinter, services: ServicesDep
) -> VisitorOut:
    """A short-lived credential that may only post to and read one session of this channel
    (a new one when ``session_id`` is left out), for a browser visitor (``/chat``)."""
    issued = await services.access.visitors.admit(
        access.scope,
        channel_id,
        body.session_id,
        user=body.user_id,
        ttl=body.ttl(),
        actor=access.principal.id,
        not_after=access.principal.expires_at,
    )
    return VisitorOut.of(issued)
