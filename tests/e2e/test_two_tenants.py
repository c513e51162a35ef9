"""End to end, on the in-process bus (embedded default) and on the real NATS, PostgreSQL and
Redis: acme's and bigcorp's users talk at the same time over webchat, through the API, the
bus and the worker pools (the shared pool for acme, bigcorp's dedicated one). Each gets only
their own tenant's flow replies, in their own sessions, whose files land at
``sessions/{tenant}/{env}/{team}/{session}.cbor``; neither can read the other's conversation.

On the real services the example's tenants are renamed with a suffix unique to the test
(other test sessions share the NATS server, whose dedicated stream names are tenant-derived);
the in-process run uses acme and bigcorp as they are.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import yaml

from tenantry.bootstrap import Services, services
from tenantry.core.settings import Settings
from tenantry.tenancy.access.schemas import Role
from tenantry.tenancy.manifests import loader
from tenantry.tenancy.manifests.schemas import Bundle
from tenantry.worker.runners.wiring import run_pools
from tests.api.test_api import client_for
from tests.conftest import EXAMPLE_BUNDLE, NATS_URL, empty

REDIS_URL = "redis://127.0.0.1:6379/0"
USERS = 3  # per tenant
TURNS = 2  # messages each user sends, one after the other's reply
WAIT = 20  # seconds a long-poll waits for a reply


@dataclass(frozen=True, slots=True)
class Tenant:
    id: str
    team: str
    channel: str
    reply: str  # what its flow answers
    token: str = ""

    def headers(self) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self.token}",
            "X-Tenant-ID": self.id,
            "X-Team-ID": self.team,
        }


def _reply_of(flow_file: str) -> str:
    flow = yaml.safe_load((EXAMPLE_BUNDLE / "flows" / flow_file).read_text())
    return str(flow["nodes"][0]["config"]["message"])


def _renamed(bundle: Bundle, names: dict[str, str]) -> Bundle:
    return Bundle(
        tenants={names[t]: spec for t, spec in bundle.tenants.items()}, plans=bundle.plans
    )


@pytest.fixture(params=["embedded", pytest.param("real", marks=pytest.mark.postgres)])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    data = tmp_path / "data"
    if request.param == "embedded":
        return Settings(data_dir=data, admin_token=None)
    url = empty(request.getfixturevalue("postgres_url"))
    return Settings(
        database_url=url, data_dir=data, nats_url=NATS_URL, redis_url=REDIS_URL, admin_token=None
    )


@pytest.fixture
async def running(settings: Settings) -> AsyncIterator[tuple[Services, dict[str, Tenant]]]:
    """The example bundle applied and provisioned, every pool running in this process."""
    suffix = "" if settings.nats_url is None else f"-{uuid.uuid4().hex[:6]}"
    names = {"acme": f"acme{suffix}", "bigcorp": f"bigcorp{suffix}"}
    tenants = {
        "acme": Tenant(names["acme"], "support", "webchat", _reply_of("acme_support_flow.yaml")),
        "bigcorp": Tenant(
            names["bigcorp"], "helpdesk", "webchat", _reply_of("bigcorp_helpdesk_flow.yaml")
        ),
    }
    async with services(settings) as wired:
        await wired.registry.apply(_renamed(loader.load([EXAMPLE_BUNDLE]), names))
        outcomes = await wired.controller.reconcile_many(list(names.values()), concurrency=2)
        assert {o.result for o in outcomes} == {"ready"}, [o.message for o in outcomes]
        for key, tenant in tenants.items():
            issued = await wired.access.issue_token(
                f"user-{key}", tenant=tenant.id, team=tenant.team, role=Role.TEAM_MEMBER
            )
            tenants[key] = Tenant(
                tenant.id, tenant.team, tenant.channel, tenant.reply, issued.token
            )
        stop = asyncio.Event()
        pools = asyncio.create_task(run_pools(wired, "*", stop=stop))
        try:
            yield wired, tenants
        finally:
            stop.set()
            await asyncio.wait_for(pools, timeout=30)


async def _talk(http: httpx.AsyncClient, tenant: Tenant, user: int) -> tuple[str, list[str]]:
    """One user's conversation: ``TURNS`` messages, each sent after the previous reply came;
    the session and every text it got back."""
    path = f"/api/v1/channels/{tenant.channel}/messages"
    session: str | None = None
    got: list[str] = []
    for turn in range(TURNS):
        body = {"user_id": f"u{user}", "text": f"hello {turn} from {tenant.id}"}
        if session is not None:
            body["session_id"] = session
        posted = await http.post(path, json=body, headers=tenant.headers())
        assert posted.status_code == 202, posted.text
        session = posted.json()["session_id"]
        while len(got) <= turn:
            query: dict[str, object] = {"session_id": session, "wait": WAIT}
            if got:
                query["after"] = len(got) - 1
            read = await http.get(path, params=query, headers=tenant.headers())
            assert read.status_code == 200, read.text
            got += [m["text"] for m in read.json()["messages"]]
    assert session is not None
    return session, got


async def test_two_tenants_talk_at_once_and_each_gets_only_its_own_replies(
    running: tuple[Services, dict[str, Tenant]],
) -> None:
    wired, tenants = running
    async with client_for(wired) as http:
        talks = [_talk(http, t, n) for t in tenants.values() for n in range(USERS)]
        done = await asyncio.wait_for(asyncio.gather(*talks), timeout=120)
    conversations = list(
        zip([t for t in tenants.values() for _ in range(USERS)], done, strict=True)
    )
    root = wired.settings.data_dir.resolve() / "runtime" / "sessions"
    for tenant, (session, texts) in conversations:
        assert texts == [tenant.reply] * TURNS, (tenant.id, texts)
        assert (root / tenant.id / "prod" / tenant.team / f"{session}.cbor").is_file()
    for tenant in tenants.values():
        files = sorted(p.stem for p in (root / tenant.id).rglob("*.cbor"))
        own = sorted(s for t, (s, _) in conversations if t.id == tenant.id)
        assert files == own  # every session of the tenant is one of its users', and no other
    acme, bigcorp = tenants["acme"], tenants["bigcorp"]
    assert acme.reply != bigcorp.reply


async def test_a_tenant_cannot_read_the_others_conversation(
    running: tuple[Services, dict[str, Tenant]],
) -> None:
    wired, tenants = running
    acme, bigcorp = tenants["acme"], tenants["bigcorp"]
    async with client_for(wired) as http:
        session, _ = await _talk(http, bigcorp, 0)
        path = f"/api/v1/channels/{bigcorp.channel}/messages"
        query = {"session_id": session, "wait": 0}
        mine = await http.get(path, params=query, headers=acme.headers())  # acme's tenant
        assert mine.status_code == 404, mine.text
        theirs = {**acme.headers(), "X-Tenant-ID": bigcorp.id, "X-Team-ID": bigcorp.team}
        crossed = await http.get(path, params=query, headers=theirs)
        assert crossed.status_code == 403, crossed.text
