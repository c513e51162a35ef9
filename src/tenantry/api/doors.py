"""Every door has a limit: each request is limited before routing, by its verified credential
or else by its client address, and refused from memory while over it; a credential's refused
(403) requests also spend a much smaller budget of their own (docs/limits.md).
The verified principal is kept in the scope for the access dependencies (:func:`authenticate`).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from typing import Final, Protocol

import structlog
from fastapi.security.utils import get_authorization_scheme_param
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tenantry.api import problems
from tenantry.core.errors import TenantryError, Unauthenticated
from tenantry.core.settings import Settings
from tenantry.tenancy.access import audit
from tenantry.tenancy.access.schemas import Principal
from tenantry.tenancy.access.service import AccessService
from tenantry.tenancy.limits.doors import DoorKind, Doors, digest
from tenantry.tenancy.limits.service import LimitsService

STATE_KEY: Final = "door_authenticated"
_AUTHORIZATION: Final = b"authorization"
_FORWARDED_FOR: Final = b"x-forwarded-for"
_Network = ipaddress.IPv4Network | ipaddress.IPv6Network
# Provider webhooks count their failed verifications against the client address themselves
# (``tenancy.channels.hooks``): a provider's verified calls for many tenants share its
# addresses, and must not share one address budget.
HOOKS_PREFIX: Final = "/hooks/"


class _Wired(Protocol):
    @property
    def settings(self) -> Settings: ...

    @property
    def access(self) -> AccessService: ...

    @property
    def limits(self) -> LimitsService: ...


@dataclass(frozen=True, slots=True)
class _Verified:
    """What the bearer credential of this request verified to, or the error it gave."""

    credential: str
    principal: Principal | None
    error: TenantryError | None


class DoorLimit:
    """ASGI middleware: the door limit of every HTTP request (429 past it)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._trusted: tuple[_Network, ...] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(HOOKS_PREFIX):
            await self.app(scope, receive, send)
            return
        wired: _Wired = scope["app"].state.services
        if self._trusted is None:
            self._trusted = tuple(map(ipaddress.ip_network, wired.settings.trusted_proxies))
        refused = await _refusal(scope, wired, self._trusted)
        if refused is not None:
            await problems.send_error(scope, send, refused)
            return
        status = 0

        async def watched(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        await self.app(scope, receive, watched)
        if status == HTTPStatus.FORBIDDEN:
            await _count_refusal(scope, wired.limits.doors)


async def authenticate(
    request: Request, access: AccessService, credential: str | None
) -> Principal:
    """The principal behind ``credential``, as :class:`DoorLimit` verified it for this
    request (raising the same error), or verified now."""
    found = request.scope.get("state", {}).get(STATE_KEY)
    if isinstance(found, _Verified) and found.credential == credential:
        if found.error is not None:
            raise found.error
        if found.principal is not None:
            return found.principal
    principal = await access.authenticate(credential)
    if credential is not None:  # kept for the audit of the request (verified_principal)
        _keep(request.scope, _Verified(credential, principal, None))
    return principal


def verified_principal(scope: Scope) -> Principal | None:
    """The principal this request's credential verified to, once verified (else None)."""
    found = scope.get("state", {}).get(STATE_KEY)
    return found.principal if isinstance(found, _Verified) else None


async def _refusal(
    scope: Scope, wired: _Wired, trusted: Sequence[_Network]
) -> TenantryError | None:
    doors = wired.limits.doors
    credential, forwarded = _headers(scope["headers"])
    client = scope.get("client")
    address = client_address(client[0] if client else None, forwarded, trusted)
    if credential is None:
        return await _admitted(doors, DoorKind.ADDRESS, digest(address))
    raw = digest(credential)
    known = doors.known(raw)
    if known is not None:
        refused = doors.refusal(DoorKind.CREDENTIAL, known) or doors.refusal(
            DoorKind.REFUSAL, known
        )
    else:  # not verified lately: the address's refusal holds (no verification, no lookup)
        refused = doors.refusal(DoorKind.ADDRESS, digest(address))
    if refused is not None:
        return refused
    try:
        principal = await wired.access.authenticate(credential)
    except Unauthenticated as error:
        _keep(scope, _Verified(credential, None, error))
        return await _bad_credential(scope, wired, error, address)
    except TenantryError:
        return None  # e.g. the control database is down: the route reports it
    _keep(scope, _Verified(credential, principal, None))
    known = digest(principal.credential_id)
    doors.verified(raw, known)
    return doors.refusal(DoorKind.REFUSAL, known) or await _admitted(
        doors, DoorKind.CREDENTIAL, known
    )


async def _count_refusal(scope: Scope, doors: Doors) -> None:
    """Take a refused (403) request of a verified credential from its refusal budget, much
    smaller than its door rate: past it, the credential is refused at the door (429)."""
    verified = scope.get("state", {}).get(STATE_KEY)
    if isinstance(verified, _Verified) and verified.principal is not None:
        await _admitted(doors, DoorKind.REFUSAL, digest(verified.principal.credential_id))


async def _bad_credential(
    scope: Scope, wired: _Wired, error: TenantryError, address: str
) -> TenantryError | None:
    """Limit a bad credential by its address; audit it (summed per address and window)."""
    key = digest(address)
    refused = await _admitted(wired.limits.doors, DoorKind.ADDRESS, key)
    if refused is None:
        action = f"{scope['method']} {scope['path']}"
        entry = audit.bad_credential(error, address, action, _correlation_id())
        await wired.access.refusals.refused((f"address:{key}", None), entry)
    return refused


async def _admitted(doors: Doors, kind: DoorKind, key: str) -> TenantryError | None:
    try:
        await doors.admit(kind, key)
    except TenantryError as refused:
        return refused
    return None


def client_address(peer: str | None, forwarded: Iterable[str], trusted: Sequence[_Network]) -> str:
    """The client's address: the socket peer, or, while the hop that sent the request is a
    trusted proxy, the address that proxy saw (``X-Forwarded-For``, read right to left)."""
    current = peer or "unknown"
    hops = [hop.strip() for value in forwarded for hop in value.split(",")]
    for hop in reversed(hops):
        if not _trusted(current, trusted):
            break
        try:
            current = str(ipaddress.ip_address(hop))
        except ValueError:
            break  # a proxy we trust wrote no address: go no further than that proxy
    return current


def _trusted(address: str, trusted: Sequence[_Network]) -> bool:
    if not trusted:
        return False
    try:
        found = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(found in network for network in trusted)


def _headers(raw: Iterable[tuple[bytes, bytes]]) -> tuple[str | None, list[str]]:
    """The bearer credential (as ``caller.bearer_of`` reads it) and the X-Forwarded-For values."""
    authorization: str | None = None
    forwarded: list[str] = []
    for name, value in raw:
        if name == _AUTHORIZATION and authorization is None:
            authorization = value.decode("latin-1")
        elif name == _FORWARDED_FOR:
            forwarded.append(value.decode("latin-1"))
    scheme, credential = get_authorization_scheme_param(authorization)
    return (credential if scheme.lower() == "bearer" and credential else None), forwarded


def _keep(scope: Scope, verified: _Verified) -> None:
    scope.setdefault("state", {})[STATE_KEY] = verified


def _correlation_id() -> str | None:
    # bound by the correlation middleware (outside this one) for logging
    value = structlog.contextvars.get_contextvars().get("correlation_id")
    return value if isinstance(value, str) else None
