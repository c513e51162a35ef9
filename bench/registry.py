"""A no-op ``apply`` of a 1,000-tenant bundle on PostgreSQL vs the same check done by hand.

Applying a bundle that is already stored must write nothing and cost one narrow read of the
stored spec hashes plus hashing the desired specs. The anchor does exactly that on a bare
psycopg connection, with the specs already turned into dicts.
"""

from __future__ import annotations

import asyncio
import tempfile
import uuid
from pathlib import Path

import psycopg
from psycopg import sql

from bench.harness import Result, median_time
from bench.manifests import TENANTS, bundle_text
from tenantry.bootstrap import services
from tenantry.core.settings import Settings
from tenantry.tenancy.manifests import loader
from tenantry.tenancy.registry.plan import spec_hash

ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def run() -> list[Result]:
    name = f"tenantry_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    try:
        return [_measure(url)]
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


def _measure(url: str) -> Result:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bundle.yaml"
        path.write_text(bundle_text(TENANTS))
        bundle = loader.load([path])
    loop = asyncio.new_event_loop()
    try:
        context = services(Settings(database_url=url))
        wired = loop.run_until_complete(context.__aenter__())
        loop.run_until_complete(wired.registry.apply(bundle))

        def noop_apply() -> None:
            plan = loop.run_until_complete(wired.registry.apply(bundle))
            assert not plan.has_changes

        ours = median_time(noop_apply)
        loop.run_until_complete(context.__aexit__(None, None, None))
    finally:
        loop.close()
    specs = {tid: spec.model_dump(mode="json") for tid, spec in bundle.tenants.items()}
    with psycopg.connect(url) as connection:

        def bare() -> None:
            query = "SELECT id, spec_hash FROM tenants"
            stored = dict(connection.execute(query).fetchall())
            assert all(stored[tid] == spec_hash(spec) for tid, spec in specs.items())

        anchor = median_time(bare)
    return Result(
        f"no-op apply, {TENANTS} tenants (PostgreSQL)", ours, anchor, "bare psycopg read + hash"
    )
