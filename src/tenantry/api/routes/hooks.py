"""``POST /hooks/{tenant}/{env}/{team}/{channel}``: Slack, Telegram and Microsoft Teams call
a channel's webhook; its access is the provider's signature with the channel's secret
(``tenancy.channels.hooks``), checked before the request counts against the tenant's limits.
"""

from __future__ import annotations

import contextlib
import ipaddress
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from tenantry.api import caller, doors, fencing
from tenantry.api.access import AccessKind, declares
from tenantry.api.bodies import StrictJsonRoute
from tenantry.api.problems import problem_responses
from tenantry.api.schemas.paths import ChannelIdPath, EnvIdPath, TeamIdPath, TenantIdPath
from tenantry.core import ids
from tenantry.runtime.messaging.providers.schemas import HookRequest
from tenantry.tenancy.channels.hooks import HookPath, Hooks, SignedHook
from tenantry.tenancy.registry import database

PREFIX: Final = "/hooks"
MAX_BODY: Final = 256 * 1024  # providers' events are a few KiB
_STATE_KEY: Final = "hooks"

router = APIRouter(
    prefix=PREFIX,
    tags=["hooks"],
    route_class=StrictJsonRoute,
    responses=problem_responses(400, 401, 413, 429, 503),
)


def hooks_of(app: Any) -> Hooks:
    """The process's hook service, built once from its services."""
    found = getattr(app.state, _STATE_KEY, None)
    if isinstance(found, Hooks):
        return found
    services = app.state.services
    made = Hooks(
        database.session_factory(services.engine),
        services.scopes,
        services.limits,
        services.ingress,
        services.bus,
        reply_wait=services.settings.teams_reply_seconds,
    )
    setattr(app.state, _STATE_KEY, made)
    return made


@declares(AccessKind.PROVIDER_SIGNATURE)
async def provider_signed(
    request: Request,
    tenant_id: TenantIdPath,
    env_id: EnvIdPath,
    team_id: TeamIdPath,
    channel_id: ChannelIdPath,
) -> SignedHook:
    """The request verified with the channel's secret (401 otherwise, counted against the
    client address; 429 once that address or, verified, the tenant is over its limit)."""
    path = HookPath(tenant_id, env_id, team_id, channel_id)  # checked by the hook service
    settings = request.app.state.services.settings
    trusted = tuple(map(ipaddress.ip_network, settings.trusted_proxies))
    peer = request.client.host if request.client else None
    address = doors.client_address(peer, request.headers.getlist("x-forwarded-for"), trusted)
    hook_request = HookRequest(
        {name.lower(): value for name, value in request.headers.items()}, await request.body()
    )
    # Held before the tenant's state is read: a suspend's drain waits for this request.
    with contextlib.suppress(ids.InvalidId):  # a bad id is refused (and counted) by verify
        fence = request.app.state.services.fence
        fencing.remember(request, await fence.admit(ids.tenant_id(tenant_id)))
    return await hooks_of(request.app).verify(
        path, hook_request, address=address, correlation_id=caller.correlation_id()
    )


Signed = Annotated[SignedHook, Depends(provider_signed)]


@router.post(
    "/{tenant_id}/{env_id}/{team_id}/{channel_id}",
    summary="Receive a provider's webhook (Slack, Telegram, Microsoft Teams)",
    max_body_size=MAX_BODY,
    response_model=None,
)
async def receive(request: Request, hook: Signed) -> JSONResponse:
    """Verified with the channel's secret, the user message is published on the channel's
    ingress once (a provider's retries are answered 200 and stored once); a Slack
    ``url_verification`` is answered with its challenge; a Teams message is answered with
    the flow's replies when they come within ``TENANTRY_TEAMS_REPLY_SECONDS``."""
    answer = await hooks_of(request.app).accept(hook)
    return JSONResponse(dict(answer.body))
