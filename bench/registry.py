"""A no-op ``apply`` of a 1,000-tenant bundle on PostgreSQL vs the one raw query it must make.

Applying a bundle that is already stored must write nothing and cost about one read of the
stored spec hashes. The anchor is that read on a bare psycopg connection.
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
    with psycopg.connect(url) as connection:
        anchor = median_time(
            lambda: connection.execute("SELECT id, spec, spec_hash FROM tenants").fetchall()
        )
    return Result(
        f"no-op apply, {TENANTS} tenants (PostgreSQL)", ours, anchor, "raw SELECT (psycopg)"
    )
