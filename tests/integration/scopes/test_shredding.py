"""Crypto-shredding: once a tenant's keys are destroyed, copies of its session file, object file
and secret rows taken aside before do not open with anything left on the machine, and another
tenant's still do."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select

from tenantry.backends.keys.keyring import Keyring
from tenantry.bootstrap import Services
from tenantry.core import names
from tenantry.core.context import TenantCtx
from tenantry.runtime.crypto import Binding, Sealer, Undecryptable
from tenantry.runtime.objects.records import FRAMED
from tenantry.runtime.secrets.vault import ENV_MARKER
from tenantry.tenancy.registry import database
from tenantry.tenancy.registry.models import SecretVersionRow
from tests.integration.scopes.test_scopes import _active


@dataclass(frozen=True)
class Copy:
    """Sealed bytes taken aside, and what they were bound to."""

    binding: Binding
    sealed: bytes


async def _write(wired: Services, tenant: str) -> None:
    scope = await wired.scopes.open(TenantCtx(tenant_id=tenant, env_id="prod", team_id="support"))
    await scope.sessions.create("support", "s1", variables={"owner": tenant})
    await scope.objects.put("reports/q1.txt", f"{tenant} report".encode())
    await scope.secrets.put("api_key", f"{tenant}-key-1")
    Keyring(wired.settings.data_dir.resolve()).rotate(tenant)  # two key versions to shred
    await scope.secrets.put("api_key", f"{tenant}-key-2")


async def _copies(wired: Services, tenant: str) -> list[Copy]:
    root = wired.settings.data_dir.resolve()
    session = names.session_path(tenant, "prod", "support", "s1")
    objects = root / "objects" / "shared" / names.object_prefix(tenant, "prod")
    found = [
        Copy(
            Binding(tenant, "prod", "session", session), (root / "runtime" / session).read_bytes()
        ),
        Copy(
            Binding(tenant, "prod", FRAMED, "reports/q1.txt"),
            (objects / "reports/q1.txt").read_bytes(),
        ),
    ]
    query = (
        select(SecretVersionRow)
        .where(SecretVersionRow.tenant_id == tenant)
        .order_by(SecretVersionRow.version)
    )
    async with database.session_factory(wired.engine)() as db:
        for row in (await db.scalars(query)).all():
            record = f"{row.path}#{row.version}"
            found.append(Copy(Binding(tenant, ENV_MARKER, "secret", record), bytes(row.sealed)))
    return found


def _key_material(root: Path, tenant: str) -> list[str]:
    document = json.loads(Keyring(root).path(tenant).read_text())
    return [version["key"] for version in document["versions"]]


async def test_a_shredded_tenants_copies_open_with_nothing_left(wired: Services) -> None:
    await _active(wired, "acme", "bigcorp")
    for tenant in ("acme", "bigcorp"):
        await _write(wired, tenant)
    root = wired.settings.data_dir.resolve()
    acme, bigcorp = await _copies(wired, "acme"), await _copies(wired, "bigcorp")
    assert len(acme) == len(bigcorp) == 4
    material = _key_material(root, "acme")
    assert len(material) == 2
    assert Keyring(root).destroy("acme") is True
    assert Keyring(root).destroy("acme") is False  # the purge step, run again
    fresh = Sealer(Keyring(root))
    for copy in acme:
        with pytest.raises(Undecryptable):
            fresh.open(copy.binding, copy.sealed)
    opened = [fresh.open(copy.binding, copy.sealed) for copy in bigcorp]
    assert opened[1].endswith(b"bigcorp report")  # the object's frame: its type, its bytes
    assert opened[2:] == [b"bigcorp-key-1", b"bigcorp-key-2"]
    for path in root.parent.rglob("*"):  # the data directory and the SQLite control database
        if path.is_file():
            held = path.read_bytes()
            assert not any(key.encode() in held for key in material), path


async def test_a_shredded_tenants_stores_refuse_to_open_its_records(wired: Services) -> None:
    await _active(wired, "acme", "bigcorp")
    for tenant in ("acme", "bigcorp"):
        await _write(wired, tenant)
    Keyring(wired.settings.data_dir.resolve()).destroy("acme")
    for tenant, readable in (("acme", False), ("bigcorp", True)):
        scope = await wired.scopes.open(TenantCtx(tenant_id=tenant, env_id="prod"))
        reads = (
            scope.sessions.get("support", "s1"),
            scope.objects.get("reports/q1.txt"),
            scope.secrets.get("api_key"),
        )
        for read in reads:
            if readable:
                await read
            else:
                with pytest.raises(Undecryptable):
                    await read
