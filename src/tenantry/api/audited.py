"""Every API write leaves one audit record, appended before its response is sent (or a
``503 audit.unavailable`` in its place); routes whose service records their success in the
change's transaction are recorded here only when refused or failed (docs/audit.md).
"""

from __future__ import annotations

import secrets
from http import HTTPStatus
from typing import Annotated, Any, Final, Protocol

import structlog
from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tenantry.api import actions, doors, problems
from tenantry.core import ids
from tenantry.core.clock import utc_now
from tenantry.core.context import TenantCtx
from tenantry.core.errors import TenantryError, Unavailable
from tenantry.core.logging import get_logger
from tenantry.core.settings import Settings
from tenantry.tenancy.access.audit import ANONYMOUS
from tenantry.tenancy.audit.attribution import Attribution
from tenantry.tenancy.audit.batching import GroupCommit
from tenantry.tenancy.audit.hmac import request_hmac
from tenantry.tenancy.audit.log import AuditLog
from tenantry.tenancy.audit.schemas import AuditEntry, Outcome

CTX_KEY: Final = "audit_ctx"
RECORDED_KEY: Final = "audit_recorded"
REQUEST_KEY: Final = "audit_request"
TARGET_CHARS: Final = 256  # the column's width
ACTOR_CHARS: Final = 128  # the column's width
HOOK_ACTOR: Final = "provider:"  # a provider's verified webhook: the channel is the actor

log = get_logger(__name__)


class AuditUnavailable(Unavailable):
    code = "audit.unavailable"


class _Wired(Protocol):
    @property
    def settings(self) -> Settings: ...

    @property
    def engine(self) -> AsyncEngine: ...

    @property
    def audit_writes(self) -> GroupCommit | None: ...

    @property
    def audit(self) -> AuditLog: ...


def resolved(scope: Scope, ctx: TenantCtx) -> None:
    """Note the request's tenant context (the access dependencies call this)."""
    scope.setdefault("state", {})[CTX_KEY] = ctx


def refusal_recorded(scope: Scope) -> None:
    """Note that this request's refusal is already recorded (by the access service)."""
    scope.setdefault("state", {})[RECORDED_KEY] = True


async def attribution(request: Request) -> Attribution:
    """Who asked for this control-database write and how it is named, for the service to
    record its success in the change's transaction (routes of ``in_transaction`` actions)."""
    scope = request.scope
    principal = doors.verified_principal(scope)
    running = scope.get("state", {}).get(REQUEST_KEY)
    template = _template(scope) or scope["path"]
    return Attribution(
        actor=(principal.id if principal else ANONYMOUS)[:ACTOR_CHARS],
        action=actions.write_action(scope["method"], template).name,
        target=scope["path"][:TARGET_CHARS],
        credential_id=principal.credential_id if principal else None,
        correlation_id=_correlation(scope),
        request_hmac=running.hmac() if isinstance(running, _Request) else None,
    )


AttributionDep = Annotated[Attribution, Depends(attribution)]


def outcome_of(status: int) -> Outcome:
    """Succeeded below 400, denied (a refusal: nothing changed) below 500, else failed."""
    if status < HTTPStatus.BAD_REQUEST:
        return Outcome.SUCCEEDED
    return Outcome.DENIED if status < HTTPStatus.INTERNAL_SERVER_ERROR else Outcome.FAILED


class AuditWrites:
    """ASGI middleware: the audit record of every write request, before its response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._key: bytes | None = None
        self._batches: GroupCommit | None = None  # made with the app's services

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in actions.READ_METHODS:
            await self.app(scope, receive, send)
            return
        wired: _Wired = scope["app"].state.services
        batches = wired.audit_writes
        if batches is None:  # services built by hand (tests): batches of the app's own
            batches = self._batches = self._batches or GroupCommit(wired.engine, utc_now)
        key = self._request_key(wired.audit)
        # audit of writes off (the benchmark's anchor only): refusals are still recorded
        denials_only = not wired.settings.audit_writes
        await _Request(scope, batches, key, denials_only).run(self.app, receive, send)

    def _request_key(self, audit: AuditLog) -> bytes:
        """The platform's request-HMAC key, kept with its keys; a log built without keys
        (services built by hand) gets one of its own, so no request is recorded unkeyed."""
        if self._key is None:
            self._key = audit.request_key if audit.keys is not None else secrets.token_bytes(32)
        return self._key


class _Request:
    """One write request on its way through: its body read so far, and its response."""

    def __init__(self, scope: Scope, batches: GroupCommit, key: bytes, denials_only: bool) -> None:
        self.scope, self.batches, self.key = scope, batches, key
        self.denials_only = denials_only
        self.chunks: list[bytes] = []
        self.started = self.swallowing = False
        scope.setdefault("state", {})[REQUEST_KEY] = self

    def hmac(self) -> str:
        """The request's HMAC, over the body read so far (all of it, once the route runs)."""
        method, path = self.scope["method"], self.scope["path"]
        return request_hmac(self.key, method, path, b"".join(self.chunks))

    async def run(self, app: ASGIApp, receive: Receive, send: Send) -> None:
        async def read() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                self.chunks.append(message.get("body", b""))
            return message

        async def respond(message: Message) -> None:
            if message["type"] == "http.response.start":
                self.started = True
                if not await self._recorded(message["status"]):
                    self.swallowing = True
                    await problems.send_error(self.scope, send, _unavailable())
                    return
            if not self.swallowing:
                await send(message)

        try:
            await app(self.scope, read, respond)
        except Exception:
            if not self.started:  # the server answers 500: record the failure if it can
                await self._recorded(HTTPStatus.INTERNAL_SERVER_ERROR)
            raise

    async def _recorded(self, status: int) -> bool:
        """Append the record of this request answered ``status``; False when that failed."""
        entry = self._entry(status)
        if entry is None or (self.denials_only and entry.outcome is not Outcome.DENIED):
            return True
        try:
            await self.batches.record(entry)
        except Exception as error:
            log.error("audit.unrecorded", action=entry.action, error=type(error).__name__)
            return False
        return True

    def _entry(self, status: int) -> AuditEntry | None:
        template = _template(self.scope)
        state: dict[str, Any] = self.scope.get("state", {})
        if template is None or state.get(RECORDED_KEY):
            return None  # no route (nothing written), or recorded by the access service
        action = actions.write_action(self.scope["method"], template)
        if action.in_transaction and status < HTTPStatus.BAD_REQUEST:
            return None  # recorded by the service, in the change's transaction
        who = _actor(self.scope, status)
        if who is None:
            return None
        actor, credential = who
        ctx: TenantCtx | None = state.get(CTX_KEY)
        return AuditEntry(  # within the columns: one record too long would fail its batch
            actor=actor[:ACTOR_CHARS],
            action=action.name,
            tenant_id=ctx.tenant_id if ctx else _path_id(self.scope, "tenant_id", ids.tenant_id),
            outcome=outcome_of(status),
            correlation_id=_correlation(self.scope),
            details={"route": f"{self.scope['method']} {template}", "status": status},
            env_id=ctx.env_id if ctx else _path_id(self.scope, "env_id", ids.env_id),
            team_id=ctx.team_id if ctx else _path_id(self.scope, "team_id", ids.team_id),
            credential_id=credential,
            target=self.scope["path"][:TARGET_CHARS],
            request_hmac=self.hmac(),
        )


def _template(scope: Scope) -> str | None:
    """The route's path as the OpenAPI document shows it (no converters), None unrouted."""
    found = getattr(scope.get("route"), "path_format", None)
    return found if isinstance(found, str) else None


def _actor(scope: Scope, status: int) -> tuple[str, str | None] | None:
    """(actor, credential id): the verified principal; a provider's channel for its verified
    webhook (a failed verification is counted by the hooks' own limit); else None."""
    principal = doors.verified_principal(scope)
    if principal is not None:
        return principal.id, principal.credential_id
    if scope["path"].startswith(doors.HOOKS_PREFIX) and status < HTTPStatus.BAD_REQUEST:
        channel = _path_id(scope, "channel_id", ids.channel_id)
        return (f"{HOOK_ACTOR}{channel}", None) if channel else None
    return None


def _path_id(scope: Scope, name: str, check: Any) -> str | None:
    """A path parameter that is a well-formed id (None otherwise: it is not recorded)."""
    value = scope.get("path_params", {}).get(name)
    try:
        return str(check(value)) if value is not None else None
    except TenantryError:
        return None


def _correlation(scope: Scope) -> str | None:
    """The request's correlation id, as the correlation middleware bound it for logging."""
    value = structlog.contextvars.get_contextvars().get("correlation_id")
    return value if isinstance(value, str) else None


def _unavailable() -> TenantryError:
    return AuditUnavailable("the audit log is unavailable: the write was not acknowledged")
