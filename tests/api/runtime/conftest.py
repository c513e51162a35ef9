"""Fixtures of the runtime route tests: the control DB on SQLite and PostgreSQL (``wired``),
two reconciled tenants (acme, bigcorp) and a client of an app with every runtime router."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from tenantry.bootstrap import Services
from tenantry.tenancy.manifests.schemas import Bundle, Channel, Environment, Team, TenantSpec
from tests.api.runtime.support import TENANTS, build_app, client

# The teams the tests act for (support has a channel, for sessions that name one).
TEAMS = {
    "support": Team(channels={"slack": Channel(provider="slack")}),
    "sales": Team(),
    "ops": Team(),
}


@pytest.fixture
async def tenants(wired: Services) -> Services:
    spec = {
        t: TenantSpec(name=t, environments=[Environment(id="prod")], teams=TEAMS) for t in TENANTS
    }
    await wired.registry.apply(Bundle(tenants=spec))
    outcomes = await wired.controller.reconcile_many(list(TENANTS), concurrency=2)
    assert {o.result for o in outcomes} == {"ready"}, [o.message for o in outcomes]
    return wired


@pytest.fixture
def app(tenants: Services) -> FastAPI:
    return build_app(tenants)


@pytest.fixture
async def api(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with client(app) as http:
        yield http
