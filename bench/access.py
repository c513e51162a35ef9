"""Access on every request: token verification, resolution, and a scoped route vs a bare one.

1. A token's first presentation: ``signing.verify`` (kid lookup in the cached keyring, EdDSA
   verification, claim checks) vs PyJWT's own ``jwt.decode`` with the same public key: what
   our checks add to the library's work.
2. A repeat presentation, as on every request of a client: ``AccessService.authenticate`` (the
   memo of verified tokens: key still accepted, expiry) plus tenant resolution (pure), against
   the same anchor.
3. A tenant route behind ``authorized`` (authenticate, resolve, open the scope — one registry
   query — then a state read) vs a bare FastAPI route doing the same state read on a scope
   opened once, on the same app and ASGI transport, embedded backends (SQLite). The admission
   (rate limit and in-flight slot) is included, on a tenant whose limits never refuse.
Figures are seconds per operation, the median of runs in which both sides take turns.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt
from fastapi import APIRouter, FastAPI

from bench.harness import Result
from tenantry.api import limits as limits_http
from tenantry.api import problems
from tenantry.api.caller import Reader
from tenantry.backends.keys.signing import SigningKeyring
from tenantry.bootstrap import Services, services
from tenantry.core.clock import utc_now
from tenantry.core.context import TenantCtx
from tenantry.core.settings import Settings
from tenantry.runtime.scope import TenantScope
from tenantry.tenancy.access import signing
from tenantry.tenancy.access.resolution import Selection
from tenantry.tenancy.access.service import AccessService
from tenantry.tenancy.access.signing import AUDIENCE, ISSUER
from tenantry.tenancy.limits.schemas import LimitsSpec
from tenantry.tenancy.manifests.schemas import Bundle, Environment, Team, TenantSpec
from tenantry.tenancy.registry import database
from tenantry.tenancy.scopes import Scopes

VERIFICATIONS = 2_000
REQUESTS = 300
RUNS = 7


def run() -> list[Result]:
    return asyncio.run(_measure())


async def _measure() -> list[Result]:
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(data_dir=Path(folder), admin_token=None)
        async with services(settings) as wired:
            access = await _prepared(wired)
            token = (
                await access.issue_token("bench", tenant="acme", team="support", role="viewer")
            ).token
            return [
                await _verification(access, token, repeat=False),
                await _verification(access, token, repeat=True),
                await _requests(wired, access, token),
            ]


async def _prepared(wired: Services) -> AccessService:
    spec = TenantSpec(
        name="acme",
        environments=[Environment(id="prod")],
        teams={"support": Team()},
        limits=UNLIMITED,  # measure the admission's cost, not its refusals
    )
    await wired.registry.apply(Bundle(tenants={"acme": spec}))
    [outcome] = await wired.controller.reconcile_many(["acme"], concurrency=1)
    assert outcome.result == "ready", outcome.message
    keys = SigningKeyring(wired.settings.data_dir.resolve())
    return AccessService(database.session_factory(wired.engine), keys)


async def _verification(access: AccessService, token: str, *, repeat: bool) -> Result:
    keys: Any = access._keys  # the same cached key for the anchor
    public = keys.public_key(jwt.get_unverified_header(token)["kid"])
    selection = Selection(tenant="acme", team="support")
    leeway = timedelta(seconds=30)

    async def ours() -> None:
        for _ in range(VERIFICATIONS):
            if repeat:
                await access.resolve(await access.authenticate(token), selection)
            else:
                signing.verify(token, keys, now=utc_now(), leeway=leeway)

    async def anchor() -> None:
        for _ in range(VERIFICATIONS):
            jwt.decode(token, public, algorithms=["EdDSA"], audience=AUDIENCE, issuer=ISSUER)

    mine, theirs = await _alternate(ours, anchor)
    what = "repeat token: authenticate + resolve" if repeat else "first token: verify"
    return Result(
        f"access: {what}",
        mine / VERIFICATIONS,
        theirs / VERIFICATIONS,
        "PyJWT jwt.decode (same key)",
    )


UNLIMITED = LimitsSpec(rate=1_000_000, burst=1_000_000, max_in_flight=1_000)


class _Wired:
    def __init__(self, wired: Services, access: AccessService) -> None:
        self.access, self.scopes, self.limits = access, wired.scopes, wired.limits


def _app(wired: Services, access: AccessService, opened: TenantScope) -> FastAPI:
    router = APIRouter()

    @router.get("/scoped/{session}")
    async def scoped(session: str, access: Reader) -> Any:
        return await access.team.state.get(session)

    @router.get("/bare/{session}")
    async def bare(session: str) -> Any:
        return await opened.state.get("support", session)

    app = FastAPI()
    problems.install(app)
    app.add_middleware(limits_http.LimitsMiddleware)
    app.include_router(router)
    app.state.services = _Wired(wired, access)
    return app


async def _requests(wired: Services, access: AccessService, token: str) -> Result:
    scopes: Scopes = wired.scopes
    opened = await scopes.open(TenantCtx(tenant_id="acme", env_id="prod", team_id="support"))
    await opened.state.set("support", "s1", {"step": 1})
    transport = httpx.ASGITransport(app=_app(wired, access, opened))
    headers = {"Authorization": f"Bearer {token}", "X-Tenant-ID": "acme", "X-Team-ID": "support"}
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:

        async def ours() -> None:
            for _ in range(REQUESTS):
                (await http.get("/scoped/s1", headers=headers)).raise_for_status()

        async def anchor() -> None:
            for _ in range(REQUESTS):
                (await http.get("/bare/s1", headers=headers)).raise_for_status()

        mine, theirs = await _alternate(ours, anchor)
    return Result(
        "access: scoped route (auth + resolve + scope + state read)",
        mine / REQUESTS,
        theirs / REQUESTS,
        "bare FastAPI route, same read",
    )


async def _alternate(
    ours: Callable[[], Awaitable[None]], anchor: Callable[[], Awaitable[None]]
) -> tuple[float, float]:
    await ours()  # warm both (caches, connections)
    await anchor()
    mine, theirs = [], []
    for _ in range(RUNS):
        mine.append(await _timed(ours))
        theirs.append(await _timed(anchor))
    return statistics.median(mine), statistics.median(theirs)


async def _timed(work: Callable[[], Awaitable[None]]) -> float:
    start = time.perf_counter()
    await work()
    return time.perf_counter() - start
