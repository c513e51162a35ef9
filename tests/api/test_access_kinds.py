"""Every route of the OpenAPI document declares its access kind (``x-tenantry-access``).

The kind comes from the route's access dependency (a tenant role's, a platform admin's, any
verified credential's, or public), so a route added without one is reported here.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI

from tenantry.api import access
from tenantry.api.access import EXTENSION, AccessKind
from tenantry.api.app import create_app
from tenantry.api.caller import PlatformAdminDep, Reader, SecretsWriter
from tenantry.tenancy.access.permissions import Action

_METHODS = {"get", "put", "post", "patch", "delete", "head", "options"}


def undeclared(document: dict[str, Any]) -> list[str]:
    """``METHOD /path`` of every operation without a well-formed access kind."""
    kinds = {kind.value for kind in AccessKind}
    found = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if method not in _METHODS:
                continue
            declared = operation.get(EXTENSION) or {}
            role_kinds = {AccessKind.TENANT_ROLE, AccessKind.CONVERSATION}
            well_formed = declared.get("kind") in kinds and (
                declared.get("kind") not in role_kinds
                or declared.get("action") in {a.value for a in Action}
            )
            if not well_formed:
                found.append(f"{method.upper()} {path}")
    return found


def _declared(app: FastAPI) -> dict[str, dict[str, str]]:
    return {
        f"{method.upper()} {path}": operation[EXTENSION]
        for path, operations in app.openapi()["paths"].items()
        for method, operation in operations.items()
        if EXTENSION in operation
    }


def test_every_route_of_the_app_declares_its_access() -> None:
    assert undeclared(create_app().openapi()) == []


def test_the_declared_kinds_are_the_routes_checks() -> None:
    declared = _declared(create_app())
    tenant = AccessKind.TENANT_ROLE.value
    assert declared["GET /healthz"] == {"kind": "public"}
    assert declared["GET /api/v1/tenants"] == {"kind": "platform-admin"}
    assert declared["POST /api/v1/tokens"] == {"kind": "credential"}
    hook = "POST /hooks/{tenant_id}/{env_id}/{team_id}/{channel_id}"
    assert declared[hook] == {"kind": "provider-signature"}
    assert declared["POST /api/v1/api-keys"] == {"kind": tenant, "action": "admin"}
    assert declared["GET /api/v1/sessions"] == {"kind": tenant, "action": "read"}
    assert declared["POST /api/v1/sessions"] == {"kind": tenant, "action": "write"}
    assert declared["GET /api/v1/secrets/{name}"] == {"kind": tenant, "action": "secrets.read"}
    assert declared["PUT /api/v1/secrets/{name}"] == {"kind": tenant, "action": "secrets.write"}
    assert declared["POST /api/v1/secrets/rotate-key"] == {"kind": tenant, "action": "admin"}
    assert declared["GET /api/v1/usage"] == {"kind": tenant, "action": "read"}
    chat, channel = AccessKind.CONVERSATION.value, "/api/v1/channels/{channel_id}"
    assert declared[f"POST {channel}/messages"] == {"kind": chat, "action": "write"}
    assert declared[f"GET {channel}/messages"] == {"kind": chat, "action": "read"}
    assert declared[f"GET {channel}/events"] == {"kind": chat, "action": "read"}
    assert declared[f"POST {channel}/visitors"] == {"kind": tenant, "action": "visitors.mint"}
    admin = {"kind": "platform-admin"}
    for kind in ("suspend", "resume", "archive", "restore", "rotate-keys"):
        assert declared[f"POST /api/v1/tenants/{{tenant_id}}/{kind}"] == admin
    assert declared["DELETE /api/v1/tenants/{tenant_id}"] == admin
    assert declared["GET /api/v1/jobs"] == declared["GET /api/v1/jobs/{job_id}"] == admin
    assert declared["POST /api/v1/jobs/{job_id}/cancel"] == admin
    assert declared["POST /api/v1/jobs/{job_id}/retry"] == admin


def test_a_route_added_without_an_access_dependency_fails_the_walk() -> None:
    router = APIRouter()

    @router.get("/api/v1/checked")
    async def checked(grant: Reader) -> None: ...

    @router.put("/api/v1/admin-only")
    async def admin_only(admin: PlatformAdminDep) -> None: ...

    @router.post("/api/v1/secrets-too")
    async def secrets_too(grant: SecretsWriter) -> None: ...

    @router.get("/api/v1/forgotten")
    async def forgotten() -> None: ...

    app = create_app()
    access.declare(router)
    app.include_router(router)
    assert undeclared(app.openapi()) == ["GET /api/v1/forgotten"]
    declared = _declared(app)
    assert declared["PUT /api/v1/admin-only"] == {"kind": "platform-admin"}
    assert declared["POST /api/v1/secrets-too"]["action"] == "secrets.write"
