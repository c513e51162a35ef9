"""The access kind every route declares through its dependencies, recorded in OpenAPI.

A route's kind comes from the access dependency it takes: a tenant role's (``Reader``,
``Writer``, ... of :mod:`tenantry.api.caller`, with the action), a platform admin's, any verified
credential's (the access service decides, as on the token routes) or :data:`PUBLIC`.
:func:`declare` records it on each route as the ``x-tenantry-access`` OpenAPI extension, and a
test fails on any route of the document without one. New kinds (a provider's signature on
inbound webhooks, a webchat visitor's credential) join :class:`AccessKind` with their
dependency.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import Any, Final, TypeVar

from fastapi import APIRouter, Depends
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from tenantry.api import caller
from tenantry.tenancy.access.permissions import Action

EXTENSION: Final = "x-tenantry-access"
_F = TypeVar("_F", bound=Callable[..., Any])


class AccessKind(enum.StrEnum):
    PUBLIC = "public"  # no credential: probes of the process
    CREDENTIAL = "credential"  # any verified credential; the access service decides the rest
    PLATFORM_ADMIN = "platform-admin"
    TENANT_ROLE = "tenant-role"  # a role of the selected tenant that allows the action
    # a tenant role that allows the action, or a visitor credential of the conversation
    CONVERSATION = "conversation"
    PROVIDER_SIGNATURE = "provider-signature"  # a webhook signed with its channel's secret


# When a route has several, the more specific one is its kind.
_RANK: Final = {
    AccessKind.PUBLIC: 0,
    AccessKind.CREDENTIAL: 1,
    AccessKind.PLATFORM_ADMIN: 2,
    AccessKind.PROVIDER_SIGNATURE: 2,
    AccessKind.TENANT_ROLE: 3,
    AccessKind.CONVERSATION: 3,
}

Declared = tuple[AccessKind, Action | None]
_DECLARED: dict[Callable[..., Any], Declared] = {
    caller.authenticated: (AccessKind.CREDENTIAL, None),
    caller.platform_admin: (AccessKind.PLATFORM_ADMIN, None),
    **{
        dependency: (AccessKind.TENANT_ROLE, proof.action)
        for dependency, proof in caller.TENANT_ACCESS.items()
    },
}


def declares(kind: AccessKind, action: Action | None = None) -> Callable[[_F], _F]:
    """Mark a dependency as the check of ``kind`` (and ``action``, for a tenant role)."""

    def mark(dependency: _F) -> _F:
        _DECLARED[dependency] = (kind, action)
        return dependency

    return mark


@declares(AccessKind.PUBLIC)
async def public() -> None:
    """Anyone may call the route: it reads nothing of a tenant."""


PUBLIC: Final = Depends(public)


def kind_of(dependant: Dependant) -> Declared | None:
    """The access a route with this dependant declares: the shallowest declared dependency,
    the most specific among equals (None when it declares none)."""
    level = list(dependant.dependencies)
    while level:
        found = [_DECLARED[d.call] for d in level if d.call in _DECLARED]
        if found:
            return max(found, key=lambda declared: _RANK[declared[0]])
        level = [sub for d in level for sub in d.dependencies]
    return None


def declare(router: APIRouter) -> None:
    """Record each route's access kind on it (``x-tenantry-access``); a route declaring none
    gets no extension, which the OpenAPI walk of the tests reports."""
    for route in router.routes:
        if not isinstance(route, APIRoute):
            continue
        declared = kind_of(route.dependant)
        if declared is None:
            continue
        kind, action = declared
        value = {"kind": kind.value}
        if action is not None:
            value["action"] = action.value
        route.openapi_extra = {**(route.openapi_extra or {}), EXTENSION: value}
