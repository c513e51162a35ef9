"""The access dependencies of a channel's conversations (the webchat routes).

:data:`ConversationWriter` and :data:`ConversationReader` admit a team role that allows writing
(posting) or reading, or a visitor credential on its own channel (``Action.CONVERSE``); the proof
they return (:class:`~tenantry.api.proofs.ConversationAccess`) then confines a visitor to its one
session. They take the steps of ``caller``'s tenant dependencies in the same order (verify,
resolve, limit, check the role, hold the fence, open the scope, claim the ``Idempotency-Key``).
:data:`ConversationListener` is the reader of long-lived requests (a long-poll, an event
stream): instead of an in-flight request slot it takes one of the tenant's ``max_connections``
slots, held until the response is done (``fencing.ReleasedAtEnd``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Final, TypeVar

from fastapi import Depends, Request

from tenantry.api import caller, doors, fencing, idempotency
from tenantry.api import limits as limits_http
from tenantry.api.access import AccessKind, declares
from tenantry.api.proofs import ConversationAccess, ConversationWriteAccess
from tenantry.core import ids
from tenantry.tenancy.access.permissions import Action
from tenantry.tenancy.limits.concurrency import Slot
from tenantry.tenancy.scopes import Release

SLOT_KEY: Final = "connection_slot"
_Proof = TypeVar("_Proof", bound=ConversationAccess)


async def _checked(
    request: Request, proof: type[_Proof], *, writing: bool = False, long_lived: bool = False
) -> tuple[_Proof, Release | None]:
    wired = caller.wired_of(request.app)
    channel = ids.channel_id(request.path_params.get("channel_id"))
    principal = await doors.authenticate(request, wired.access, caller.bearer_of(request))
    found = await caller.resolved(request, principal)  # refusals audited, context noted
    route_class = limits_http.route_class_of(request)
    admission = await wired.limits.admit(found.ctx, route_class, hold_slot=not long_lived)
    limits_http.remember(request, admission)
    proof.check(principal, found.role, channel, tenant=found.ctx.tenant_id)
    if long_lived:
        _keep_slot(request, await wired.limits.connection(found.ctx))
    fencing.remember(request, await wired.fence.admit(found.ctx.tenant_id))
    release: Release | None = None
    if writing:
        scope, release = await wired.scopes.open_writing(found.ctx)
    else:
        scope = await wired.scopes.open(found.ctx)
    access = proof(principal, found.ctx, found.role, scope, channel)
    try:
        await idempotency.claim(request, access)
    except BaseException:
        if release is not None:
            await release()
        raise
    return access, release


@declares(AccessKind.CONVERSATION, Action.WRITE)
async def conversation_writer(request: Request) -> AsyncIterator[ConversationWriteAccess]:
    """Admit a role that may write, or a visitor on its channel; a migrating tenant's write
    holds its write gate until the route is done."""
    access, release = await _checked(request, ConversationWriteAccess, writing=True)
    try:
        yield access
    finally:
        if release is not None:
            await release()


@declares(AccessKind.CONVERSATION, Action.READ)
async def conversation_reader(request: Request) -> ConversationAccess:
    """Admit a role that may read, or a visitor on its channel."""
    return (await _checked(request, ConversationAccess))[0]


@declares(AccessKind.CONVERSATION, Action.READ)
async def conversation_listener(request: Request) -> ConversationAccess:
    """:func:`conversation_reader` for a long-lived request: a connection slot, not an
    in-flight one."""
    return (await _checked(request, ConversationAccess, long_lived=True))[0]


ConversationWriter = Annotated[ConversationWriteAccess, Depends(conversation_writer)]
ConversationReader = Annotated[ConversationAccess, Depends(conversation_reader)]
ConversationListener = Annotated[ConversationAccess, Depends(conversation_listener)]
for _dependency in (conversation_writer, conversation_reader, conversation_listener):
    caller.tenant_access(_dependency)


def _keep_slot(request: Request, slot: Slot) -> None:
    setattr(request.state, SLOT_KEY, slot)
