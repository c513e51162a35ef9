"""The cost of the policy gate on ``apply``: 300 tenants changed at once on PostgreSQL, every one
held to a policy with every check (and a plan that declares ``allows``), against the same
changing apply of the same tenants with no policy and no allowances, in the same run."""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid
from typing import Any

import psycopg
from psycopg import sql

from bench.harness import Result
from tenantry.bootstrap import services
from tenantry.core.settings import Settings
from tenantry.tenancy.manifests.schemas import Bundle

ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
TENANTS = 300
RUNS = 5
POLICY = {
    "residency": {"regions": ["eu-west"]},
    "encryption": {"max_key_age": "90d"},
    "retention": {"purge_after": "30d", "archive": "90d", "audit": "365d"},
}
PLAN = {"rate": 10, "allows": {"profiles": ["mt-standard"], "overrides": ["burst"]}}


def run() -> list[Result]:
    name = f"tenantry_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    try:
        loop = asyncio.new_event_loop()
        try:
            ours = loop.run_until_complete(_changing_applies(url, governed=True))
            anchor = loop.run_until_complete(_changing_applies(url, governed=False))
        finally:
            loop.close()
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
    return [
        Result(
            f"changing apply, {TENANTS} tenants under a policy (PostgreSQL)",
            ours,
            anchor,
            "the same apply, no policy",
        )
    ]


def _bundle(round_: int, *, governed: bool) -> Bundle:
    prefix = "p" if governed else "n"
    tenant: dict[str, Any] = {"name": f"Tenant {round_}", "environments": [{"id": "prod"}]}
    if governed:
        tenant |= {"policy": "strict", "plan": "starter", "region": "eu-west"}
    data: dict[str, Any] = {"tenants": {f"{prefix}{i}": tenant for i in range(TENANTS)}}
    if governed:
        data |= {"policies": {"strict": POLICY}, "plans": {"starter": PLAN}}
    return Bundle.model_validate(data)


async def _changing_applies(url: str, *, governed: bool) -> float:
    """The median time of an apply that changes every tenant (names flip between rounds)."""
    regions = {"embedded_region": "eu-west", "postgres_region": "eu-west"}
    async with services(Settings(database_url=url, **regions)) as wired:
        bundles = [_bundle(i, governed=governed) for i in range(2)]
        await wired.registry.apply(bundles[0])
        samples = []
        for round_ in range(1, RUNS + 1):
            start = time.perf_counter()
            plan = await wired.registry.apply(bundles[round_ % 2])
            samples.append(time.perf_counter() - start)
            assert plan.has_changes
    return statistics.median(samples)
