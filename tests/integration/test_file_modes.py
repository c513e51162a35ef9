"""The embedded default keeps its data owner-only: every file it creates under the data
directory (the control database with API-key digests, audit records and sealed secrets, tenant
databases, the state file, objects, keys) is 0600 and every directory 0700, whatever the umask
lets through; a control database left 0644 by an older version is tightened when opened."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tenantry import bootstrap
from tenantry.api.app import create_app
from tenantry.core.settings import Settings
from tenantry.tenancy.manifests.schemas import Bundle, Environment, TenantSpec

ADMIN = {"Authorization": "Bearer admin-secret"}


@pytest.fixture
def umask() -> Iterator[None]:
    previous = os.umask(0o022)  # the usual default, which would leave 0644 files
    try:
        yield
    finally:
        os.umask(previous)


def _loose(root: Path) -> list[str]:
    found = []
    for path in [root, *root.rglob("*")]:
        mode = stat.S_IMODE(path.lstat().st_mode)
        if mode & 0o077:
            found.append(f"{path.relative_to(root.parent)} {oct(mode)}")
    return found


async def _use(http: httpx.AsyncClient) -> None:
    issued = await http.post(
        "/api/v1/tokens",
        json={"principal": "u", "tenant": "acme", "role": "tenant-admin"},
        headers=ADMIN,
    )
    assert issued.status_code == 201, issued.text
    headers = {"Authorization": f"Bearer {issued.json()['token']}", "X-Tenant-ID": "acme"}
    writes = [
        http.post("/api/v1/sessions", json={"session_id": "s1"}, headers=headers),
        http.put("/api/v1/state/s1", json={"a": 1}, headers=headers),
        http.put("/api/v1/secrets/api-key", json={"value": "v"}, headers=headers),
        http.put("/api/v1/objects/a/b.txt", content=b"x", headers=headers),
        http.post(
            "/api/v1/search/documents",
            json={"doc_id": "d", "title": "t", "body": "b"},
            headers=headers,
        ),
        http.post("/api/v1/api-keys", json={"name": "ci", "role": "viewer"}, headers=headers),
    ]
    for write in writes:
        response = await write
        assert response.is_success, response.text


async def test_every_data_file_is_owner_only(tmp_path: Path, umask: None) -> None:
    root = tmp_path / "deep" / "data"
    settings = Settings(data_dir=root, admin_token="admin-secret")
    async with bootstrap.services(settings) as services:
        spec = TenantSpec(name="acme", environments=[Environment(id="prod")])
        await services.registry.apply(Bundle(tenants={"acme": spec}))
        (outcome,) = await services.controller.reconcile_many(["acme"], concurrency=1)
        assert outcome.result == "ready", outcome.message
        transport = httpx.ASGITransport(app=create_app(settings, services=services))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            await _use(http)
        open_now = _loose(root.parent)  # the SQLite -wal and -shm files exist while open
        names = {p.name for p in root.rglob("*")}
    wanted = {"control.sqlite3", "control.sqlite3-wal", "prod.sqlite3", "state.sqlite3"}
    assert wanted | {"acme.json", "keyring.json", "s1.cbor", "b.txt"} <= names, names
    assert open_now == [], open_now
    assert _loose(root.parent) == []


async def test_a_loose_control_database_is_tightened(tmp_path: Path, umask: None) -> None:
    settings = Settings(data_dir=tmp_path / "data", admin_token="admin-secret")
    async with bootstrap.services(settings):
        pass
    control = tmp_path / "data" / "control.sqlite3"
    control.chmod(0o644)
    async with bootstrap.services(settings):
        pass
    assert stat.S_IMODE(control.stat().st_mode) == 0o600
