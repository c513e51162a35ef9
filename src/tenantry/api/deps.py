"""Request dependencies: the process's services and the platform admin check."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from tenantry.bootstrap import Services
from tenantry.core.errors import Unauthenticated

_bearer = HTTPBearer(auto_error=False, description="The platform admin token.")


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


def require_platform_admin(
    services: ServicesDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    """Admit only ``Authorization: Bearer $TENANTRY_ADMIN_TOKEN`` (until access lands)."""
    expected = services.settings.admin_token
    if expected is None:
        raise Unauthenticated(
            "the admin API is disabled until TENANTRY_ADMIN_TOKEN is set",
            code="auth.admin_disabled",
        )
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthenticated("send Authorization: Bearer <token>", code="auth.missing_token")
    given = credentials.credentials.encode()
    if not hmac.compare_digest(given, expected.get_secret_value().encode()):
        raise Unauthenticated("the token is not valid", code="auth.invalid_token")
