"""``Idempotency-Key`` on POST routes: the same request made twice runs once.

Every POST route of the tenant API takes it the same way: its router uses
:class:`IdempotentRoute`, and the route declares ``dependencies=[IDEMPOTENT]`` (which reads and
documents the header, and runs before the route's access dependency). The access dependency
then checks the caller and only afterwards calls :func:`claim`, which asks
:class:`~tenantry.tenancy.idempotency.service.IdempotencyService` for a claim under the
caller's credential (principal, team and role) in its tenant environment: a stored response of
the same request by the same credential is answered at once, with ``Idempotent-Replayed:
true``. The route class then stores a 2xx response, or frees the key when the request failed
(a failed request changed nothing, so running it again is safe). A duplicate that arrives while
the first is running gets 409 ``idempotency.in_progress``. Without the header, the request
simply runs.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any, Final

from fastapi import Depends, Header, Request, Response

from tenantry.api.bodies import StrictJsonRoute
from tenantry.api.deps import get_services
from tenantry.api.problems import problem_responses
from tenantry.api.proofs import TenantAccess
from tenantry.core.errors import TenantryError
from tenantry.core.logging import get_logger
from tenantry.tenancy.idempotency.service import (
    HEADER_LIMIT,
    HEADER_PATTERN,
    Claim,
    IdempotencyService,
    StoredResponse,
    fingerprint,
)

HEADER: Final = "Idempotency-Key"
REPLAYED: Final = "Idempotent-Replayed"
KEPT_HEADERS: Final = frozenset({"content-type", "location", "etag"})
RESPONSES: Final = problem_responses(409, 422)  # in progress; key reused for another request
_CLAIM: Final = "tenantry_idempotency_claim"
_KEY: Final = "tenantry_idempotency_key"
_ROUTED: Final = "tenantry_idempotent_route"
_log = get_logger(__name__)

Handler = Callable[[Request], Coroutine[Any, Any, Response]]


class _Replay(Exception):  # a signal out of the dependency, not an error
    def __init__(self, response: Response) -> None:
        super().__init__("replayed")
        self.response = response


async def idempotent(
    request: Request,
    key: Annotated[
        str | None,
        Header(
            alias=HEADER,
            description="A unique key (e.g. a UUID) making this POST safe to retry: the same "
            "request under the same key, by the same credential, runs once and is answered the "
            "same for 24 hours.",
            json_schema_extra={
                "pattern": HEADER_PATTERN,
                "minLength": 1,
                "maxLength": HEADER_LIMIT,  # a quoted key: '"' + 255 characters + '"'
            },
        ),
    ] = None,
) -> None:
    """Keep the key for :func:`claim` (nothing is looked up before access is checked)."""
    if key is None:
        return
    if not getattr(request.state, _ROUTED, False):
        raise AssertionError(f"{request.url.path}: an idempotent route needs IdempotentRoute")
    setattr(request.state, _KEY, key)


async def claim(request: Request, access: TenantAccess) -> None:
    """Claim the request's key for ``access``'s credential, or answer the replay of the same
    request it made before. The tenant-access dependencies call it once their check passed."""
    key: str | None = getattr(request.state, _KEY, None)
    if key is None:
        return
    setattr(request.state, _KEY, None)
    service = get_services(request).idempotency
    request_print = fingerprint(
        request.method, request.url.path, request.url.query, await request.body()
    )
    outcome = await service.begin(
        access.scope,
        principal=access.principal.id,
        role=access.role.value,
        key=key,
        fingerprint=request_print,
    )
    if isinstance(outcome, StoredResponse):
        raise _Replay(_replayed(outcome))
    setattr(request.state, _CLAIM, (service, outcome))


IDEMPOTENT: Final = Depends(idempotent)


class IdempotentRoute(StrictJsonRoute):
    """Answers replays, and settles the claim with the response the route made."""

    def get_route_handler(self) -> Handler:
        handler = super().get_route_handler()

        async def run(request: Request) -> Response:
            setattr(request.state, _ROUTED, True)
            try:
                response = await handler(request)
            except _Replay as replay:
                return replay.response
            except Exception:
                await _settle(request, None)
                raise
            await _settle(request, response)
            if getattr(request.state, _KEY, None) is not None:
                # Keys are claimed by the access dependency, which must come after IDEMPOTENT.
                raise AssertionError(f"{request.url.path}: its Idempotency-Key was never claimed")
            return response

        return run


async def _settle(request: Request, response: Response | None) -> None:
    claimed: tuple[IdempotencyService, Claim] | None = getattr(request.state, _CLAIM, None)
    if claimed is None:
        return
    service, claim = claimed
    body = getattr(response, "body", None)
    try:
        if response is not None and 200 <= response.status_code < 300 and type(body) is bytes:
            await service.complete(claim, _stored(response, body))
        else:
            await service.release(claim)
    except TenantryError as error:
        # The request ran: its answer is the client's even if it cannot be stored. A retry
        # meets the unsettled claim (409) until its lease lapses.
        _log.warning("idempotency.unsettled", code=error.code, path=request.url.path)


def _stored(response: Response, body: bytes) -> StoredResponse:
    headers = tuple(
        (name, value) for name, value in response.headers.items() if name in KEPT_HEADERS
    )
    return StoredResponse(response.status_code, headers, body)


def _replayed(stored: StoredResponse) -> Response:
    response = Response(content=stored.body, status_code=stored.status)
    for name, value in stored.headers:
        response.headers[name] = value
    response.headers[REPLAYED] = "true"
    return response
