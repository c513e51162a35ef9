"""Every route of the API, and how to call it with a tenant's names.

The suite is parametrised over the routes of the app's OpenAPI document (not over this table),
so a new route without an entry here fails its test until it gets one.
"""

from __future__ import annotations

import enum
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from fastapi import FastAPI
from sqlalchemy import insert, select, update

from tenantry.api.access import EXTENSION, AccessKind
from tenantry.api.app import create_app
from tenantry.bootstrap import Services
from tenantry.tenancy.lifecycle.models import JobRow
from tenantry.tenancy.registry.models import TenantRow
from tenantry.tenancy.webhooks.models import EndpointRow
from tests.isolation.world import CHANNEL, HOOK_CHANNEL, SHARED_WORD, TEAM, Names

# Not tenant routes: probes of the process, the documents describing the API, the chat page
# (the same page for everyone; a visitor credential reaches the webchat routes).
UNSCOPED: Final = frozenset({"GET /healthz", "GET /readyz", "GET /chat"})


class Kind(enum.Enum):
    ITEM = "item"  # reads or changes one named thing: another tenant's is 404 like a missing one
    LIST = "list"  # lists the caller's things: only the caller's, never another tenant's
    WRITE = "write"  # creates or replaces under a name: the same answer as for a new name
    ADMIN = "admin"  # platform admins only: refused to tenant credentials whatever they name
    SIGNED = "signed"  # a provider's webhook: its access is the signature of the channel's secret


@dataclass(frozen=True, slots=True)
class Call:
    """One request, as httpx takes it (``path`` is concrete)."""

    method: str
    path: str
    json: Any = None
    content: bytes | None = None
    params: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)


Build = Callable[[Names], list[Call]]
Ready = Callable[[Services, Names], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Route:
    method: str
    path: str  # the template, as in the OpenAPI document
    kind: Kind
    build: Build  # the variants to try; the first one, with the caller's own names, succeeds
    ready: Ready | None = None  # puts the caller's things in the state the first call needs

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"


def _one(method: str, path: str, **options: Any) -> Build:
    """A route called one way; ``{names.x}`` placeholders in the path are filled in."""

    def build(names: Names) -> list[Call]:
        return [Call(method, path.format(names=names), **options)]

    return build


def _calls(*makers: Callable[[Names], Call]) -> Build:
    return lambda names: [make(names) for make in makers]


def _tenant_in(state: str) -> Ready:
    """The caller's tenant put in ``state`` (what the job that leads there would leave)."""

    async def ready(services: Services, names: Names) -> None:
        async with services.engine.begin() as db:
            values = {"lifecycle_state": state}
            await db.execute(update(TenantRow).where(TenantRow.id == names.tenant).values(values))

    return ready


def _job_in(state: str) -> Ready:
    """The caller's tenant's job put in ``state``, unclaimed."""

    async def ready(services: Services, names: Names) -> None:
        async with services.engine.begin() as db:
            values = {"state": state, "claimed_by": None, "finished_at": None}
            await db.execute(update(JobRow).where(JobRow.id == names.job).values(values))

    return ready


EPOCH: Final = "2000-01-01T00:00:00Z"


def webhook_id(names: Names) -> str:
    """The id of the tenant's webhook endpoint under ``names`` (made by :func:`_webhook`): the
    job's id, a 32-hex name like an endpoint's, which the suite already blanks in answers."""
    return names.job


def _webhook_path(names: Names, tail: str = "") -> str:
    return f"/api/v1/webhooks/{webhook_id(names)}{tail}"


async def _webhook(services: Services, names: Names) -> None:
    """The tenant's webhook endpoint, under :func:`webhook_id` (made once, with no secret:
    these calls send nothing)."""
    row = {
        "id": webhook_id(names),
        "tenant_id": names.tenant,
        "url": "https://hooks.example.test/in",
        "filters": ["*"],
        "description": "",
        "created_by": "seed",
        "created_at": datetime.now(UTC),
    }
    async with services.engine.begin() as db:
        if await db.scalar(select(EndpointRow.id).where(EndpointRow.id == row["id"])) is None:
            await db.execute(insert(EndpointRow).values(row))


SESSION: Final = "/api/v1/sessions/{names.session}"
MATCH_1: Final = {"If-Match": '"1"'}  # every session of the world is at revision 1
OBJECT: Final = "/api/v1/objects/{names.object_key}"
CREATE_ONLY: Final = {"If-None-Match": "*"}
CHANNEL_MESSAGES: Final = f"/api/v1/channels/{CHANNEL}/messages"
SOME_TAG: Final = '"0123456789abcdef0123456789abcdef"'  # an object ETag's form; no object's

ROUTES: Final[tuple[Route, ...]] = (
    # -- the registry (platform admins) --
    Route("GET", "/api/v1/tenants", Kind.ADMIN, _one("GET", "/api/v1/tenants")),
    Route(
        "GET",
        "/api/v1/tenants/{tenant_id}",
        Kind.ADMIN,
        _one("GET", "/api/v1/tenants/{names.tenant}"),
    ),
    Route(
        "POST",
        "/api/v1/tenants",
        Kind.ADMIN,  # a new id at every build: a platform admin's call creates a tenant
        lambda n: [
            Call(
                "POST", "/api/v1/tenants", json={"id": f"new-{secrets.token_hex(4)}", "name": "New"}
            )
        ],
    ),
    Route(
        "PUT",
        "/api/v1/tenants/{tenant_id}",
        Kind.ADMIN,  # the tenant's own spec again (the world's): an admin's call changes nothing
        lambda n: [
            Call(
                "PUT",
                f"/api/v1/tenants/{n.tenant}",
                json={"name": n.tenant, "environments": [{"id": "prod"}], "teams": {TEAM: {}}},
            )
        ],
    ),
    Route("GET", "/api/v1/plans", Kind.ADMIN, _one("GET", "/api/v1/plans")),
    # -- the lifecycle (platform admins): each transition answers its job --
    *(
        Route(
            "POST",
            f"/api/v1/tenants/{{tenant_id}}/{kind}",
            Kind.ADMIN,
            _one("POST", f"/api/v1/tenants/{{names.tenant}}/{kind}"),
            ready=None if before is None else _tenant_in(before),
        )
        for kind, before in (
            ("suspend", None),
            ("resume", "suspended"),
            ("archive", None),
            ("restore", "archived"),
            ("rotate-keys", None),
        )
    ),
    Route(
        "DELETE",
        "/api/v1/tenants/{tenant_id}",
        Kind.ADMIN,
        _one("DELETE", "/api/v1/tenants/{names.tenant}"),
    ),
    Route("GET", "/api/v1/jobs", Kind.ADMIN, _one("GET", "/api/v1/jobs")),
    Route("GET", "/api/v1/jobs/{job_id}", Kind.ADMIN, _one("GET", "/api/v1/jobs/{names.job}")),
    Route(
        "POST",
        "/api/v1/jobs/{job_id}/cancel",
        Kind.ADMIN,
        _one("POST", "/api/v1/jobs/{names.job}/cancel"),
        ready=_job_in("queued"),
    ),
    Route(
        "POST",
        "/api/v1/jobs/{job_id}/retry",
        Kind.ADMIN,
        _one("POST", "/api/v1/jobs/{names.job}/retry"),
        ready=_job_in("failed"),
    ),
    # -- access --
    Route(
        "POST",
        "/api/v1/tokens",
        Kind.ITEM,  # the tenant named in the body: another tenant is refused like a missing one
        lambda n: [
            Call(
                "POST",
                "/api/v1/tokens",
                json={"principal": "mallory", "tenant": n.tenant, "role": "viewer"},
            )
        ],
    ),
    Route(
        "DELETE",
        "/api/v1/tokens/{jti}",
        Kind.ITEM,  # a token of another tenant is 404 like a missing one
        _one("DELETE", "/api/v1/tokens/{names.token}"),
    ),
    Route(
        "POST",
        "/api/v1/api-keys",
        Kind.WRITE,
        lambda n: [Call("POST", "/api/v1/api-keys", json={"name": f"k {n.doc}", "role": "viewer"})],
    ),
    Route("GET", "/api/v1/api-keys", Kind.LIST, _one("GET", "/api/v1/api-keys")),
    Route(
        "DELETE",
        "/api/v1/api-keys/{key_id}",
        Kind.ITEM,
        _one("DELETE", "/api/v1/api-keys/{names.api_key}"),
    ),
    # -- sessions --
    Route("GET", "/api/v1/sessions", Kind.LIST, _one("GET", "/api/v1/sessions")),
    Route(
        "POST",
        "/api/v1/sessions",
        Kind.WRITE,
        lambda n: [
            Call(
                "POST",
                "/api/v1/sessions",
                json={"session_id": n.session},
                headers={"Idempotency-Key": f"{n.idempotency}.sessions"},
            )
        ],
    ),
    Route("GET", "/api/v1/sessions/{session_id}", Kind.ITEM, _one("GET", SESSION)),
    Route(
        "PUT",
        "/api/v1/sessions/{session_id}",
        Kind.ITEM,
        _one("PUT", SESSION, json={"variables": {"x": 1}}, headers=MATCH_1),
    ),
    Route(
        "PATCH",
        "/api/v1/sessions/{session_id}",
        Kind.ITEM,
        _one("PATCH", SESSION, json={"variables": {"x": 1}}, headers=MATCH_1),
    ),
    Route(
        "DELETE",
        "/api/v1/sessions/{session_id}",
        Kind.ITEM,
        _calls(
            lambda n: Call("DELETE", SESSION.format(names=n), headers=MATCH_1),
            lambda n: Call("DELETE", SESSION.format(names=n)),
        ),
    ),
    # -- state --
    Route(
        "GET", "/api/v1/state/{session_id}", Kind.ITEM, _one("GET", "/api/v1/state/{names.session}")
    ),
    Route(
        "PUT",
        "/api/v1/state/{session_id}",
        Kind.WRITE,
        _one("PUT", "/api/v1/state/{names.session}", json={"n": 1}),
    ),
    Route(
        "DELETE",
        "/api/v1/state/{session_id}",
        Kind.ITEM,
        _one("DELETE", "/api/v1/state/{names.session}"),
    ),
    # -- secrets --
    Route("GET", "/api/v1/secrets", Kind.LIST, _one("GET", "/api/v1/secrets")),
    Route(
        "POST",
        "/api/v1/secrets/rotate-key",
        Kind.WRITE,
        lambda n: [
            Call(
                "POST",
                "/api/v1/secrets/rotate-key",
                headers={"Idempotency-Key": f"{n.idempotency}.rotate"},
            )
        ],
    ),
    Route(
        "PUT",
        "/api/v1/secrets/{name}",
        Kind.WRITE,
        _one("PUT", "/api/v1/secrets/{names.secret}", json={"value": "mine"}),
    ),
    Route(
        "GET",
        "/api/v1/secrets/{name}",
        Kind.ITEM,
        _calls(
            lambda n: Call("GET", f"/api/v1/secrets/{n.secret}"),
            lambda n: Call("GET", f"/api/v1/secrets/{n.secret}", params={"version": "1"}),
        ),
    ),
    Route(
        "DELETE",
        "/api/v1/secrets/{name}",
        Kind.ITEM,
        _one("DELETE", "/api/v1/secrets/{names.secret}"),
    ),
    Route(
        "GET",
        "/api/v1/secrets/{name}/versions",
        Kind.ITEM,
        _one("GET", "/api/v1/secrets/{names.secret}/versions"),
    ),
    # -- objects --
    Route(
        "GET",
        "/api/v1/objects",
        Kind.LIST,
        _calls(
            lambda n: Call("GET", "/api/v1/objects"),
            lambda n: Call("GET", "/api/v1/objects", params={"prefix": n.object_prefix()}),
        ),
    ),
    Route(
        "PUT",
        "/api/v1/objects/{key}",
        Kind.WRITE,
        _calls(  # create-only first: the second call finds the first one's object
            lambda n: Call("PUT", OBJECT.format(names=n), content=b"mine", headers=CREATE_ONLY),
            lambda n: Call("PUT", OBJECT.format(names=n), content=b"mine"),
        ),
    ),
    Route(
        "GET",
        "/api/v1/objects/{key}",
        Kind.ITEM,
        _calls(
            lambda n: Call("GET", OBJECT.format(names=n)),
            lambda n: Call("GET", OBJECT.format(names=n), headers={"If-None-Match": "*"}),
            lambda n: Call("GET", OBJECT.format(names=n), headers={"If-None-Match": SOME_TAG}),
        ),
    ),
    Route(
        "HEAD",
        "/api/v1/objects/{key}",
        Kind.ITEM,
        _calls(
            lambda n: Call("HEAD", OBJECT.format(names=n)),
            lambda n: Call("HEAD", OBJECT.format(names=n), headers={"If-None-Match": SOME_TAG}),
        ),
    ),
    Route(
        "DELETE",
        "/api/v1/objects/{key}",
        Kind.ITEM,
        _calls(
            lambda n: Call("DELETE", OBJECT.format(names=n)),
            lambda n: Call("DELETE", OBJECT.format(names=n), headers={"If-Match": "*"}),
            lambda n: Call("DELETE", OBJECT.format(names=n), headers={"If-Match": SOME_TAG}),
        ),
    ),
    # -- search --
    Route(
        "GET",
        "/api/v1/search",
        Kind.LIST,
        _calls(
            lambda n: Call("GET", "/api/v1/search", params={"q": SHARED_WORD}),
            lambda n: Call("GET", "/api/v1/search", params={"q": n.title}),
        ),
    ),
    Route(
        "POST",
        "/api/v1/search/documents",
        Kind.WRITE,
        lambda n: [
            Call(
                "POST",
                "/api/v1/search/documents",
                json={"doc_id": n.doc, "title": "mine", "body": "mine"},
                headers={"Idempotency-Key": f"{n.idempotency}.documents"},
            )
        ],
    ),
    Route(
        "DELETE",
        "/api/v1/search/documents/{doc_id}",
        Kind.ITEM,
        _one("DELETE", "/api/v1/search/documents/{names.doc}"),
    ),
    # -- webchat: the team's channel, a session of it --
    Route(
        "POST",
        "/api/v1/channels/{channel_id}/messages",
        Kind.ITEM,  # on another tenant's session: 404 like a missing one, nothing published
        lambda n: [
            Call(
                "POST",
                CHANNEL_MESSAGES,
                json={"user_id": "u", "text": "hi", "session_id": n.session},
            )
        ],
    ),
    Route(
        "GET",
        "/api/v1/channels/{channel_id}/messages",
        Kind.ITEM,
        _calls(
            lambda n: Call("GET", CHANNEL_MESSAGES, params={"session_id": n.session}),
            lambda n: Call("GET", CHANNEL_MESSAGES, params={"session_id": n.session, "after": "0"}),
        ),
    ),
    Route(
        "GET",
        "/api/v1/channels/{channel_id}/events",
        Kind.ITEM,
        _calls(
            lambda n: Call("GET", f"/api/v1/channels/{CHANNEL}/events", params=_stream(n.session)),
            lambda n: Call(
                "GET",
                f"/api/v1/channels/{CHANNEL}/events",
                params=_stream(n.session),
                headers={"Last-Event-ID": "0"},
            ),
        ),
    ),
    Route(
        "POST",
        "/api/v1/channels/{channel_id}/visitors",
        Kind.ITEM,  # a visitor of another tenant's session: 404 like a missing one
        lambda n: [
            Call("POST", f"/api/v1/channels/{CHANNEL}/visitors", json={"session_id": n.session})
        ],
    ),
    # -- provider webhooks (signed with the channel's secret, no bearer token) --
    Route(
        "POST",
        "/hooks/{tenant_id}/{env_id}/{team_id}/{channel_id}",
        Kind.SIGNED,
        _one("POST", f"/hooks/{{names.tenant}}/prod/{TEAM}/{HOOK_CHANNEL}"),
    ),
    # -- usage --
    Route("GET", "/api/v1/usage", Kind.LIST, _one("GET", "/api/v1/usage")),
    # -- policies (issue 13) --
    Route("GET", "/api/v1/policies", Kind.ADMIN, _one("GET", "/api/v1/policies")),
    Route("GET", "/api/v1/policy-check", Kind.LIST, _one("GET", "/api/v1/policy-check")),
    # -- audit (a tenant admin's view of the tenant's chain) --
    Route("GET", "/api/v1/audit", Kind.LIST, _one("GET", "/api/v1/audit")),
    # -- event schemas (issue 13): the same documents for every tenant, read with a tenant role --
    Route("GET", "/api/v1/events/schemas", Kind.LIST, _one("GET", "/api/v1/events/schemas")),
    Route(
        "GET",
        "/api/v1/events/schemas/{schema_name}",
        Kind.LIST,
        _one("GET", "/api/v1/events/schemas/tenancy.tenant.suspended"),
    ),
    Route("GET", "/api/v1/events/keys", Kind.LIST, _one("GET", "/api/v1/events/keys")),
    # -- webhooks (issue 13): each tenant's endpoint is made by `ready` under webhook_id(names) --
    Route(
        "POST",
        "/api/v1/webhooks",
        Kind.WRITE,
        _one("POST", "/api/v1/webhooks", json={"url": "https://hooks.example.test/in"}),
    ),
    Route("GET", "/api/v1/webhooks", Kind.LIST, _one("GET", "/api/v1/webhooks")),
    *(
        Route(method, f"/api/v1/webhooks/{{webhook_id}}{tail}", Kind.ITEM, build, ready=_webhook)
        for method, tail, build in (
            ("DELETE", "", lambda n: [Call("DELETE", _webhook_path(n))]),
            ("POST", "/rotate", lambda n: [Call("POST", _webhook_path(n, "/rotate"))]),
            ("GET", "/deliveries", lambda n: [Call("GET", _webhook_path(n, "/deliveries"))]),
            (
                "POST",
                "/replay",
                lambda n: [Call("POST", _webhook_path(n, "/replay"), json={"since": EPOCH})],
            ),
        )
    ),
)
TABLE: Final = {route.label: route for route in ROUTES}


def _stream(session: str) -> dict[str, str]:
    """An event stream that ends once it sent what is there (``wait=0``)."""
    return {"session_id": session, "wait": "0"}


def tenant_role_routes(app: FastAPI | None = None) -> frozenset[str]:
    """``METHOD /path`` of every operation whose declared access is a tenant role (or a
    conversation's: a tenant role, or a visitor)."""
    document = (app or create_app()).openapi()
    return frozenset(
        f"{method.upper()} {path}"
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        if isinstance(operation, dict)
        and operation.get(EXTENSION, {}).get("kind")
        in {AccessKind.TENANT_ROLE, AccessKind.CONVERSATION}
    )


def schema_routes(app: FastAPI | None = None) -> list[str]:
    """``METHOD /path`` of every operation in the app's OpenAPI document, but the unscoped."""
    document = (app or create_app()).openapi()
    found = [
        f"{method.upper()} {path}"
        for path, operations in document["paths"].items()
        for method in operations
        if method in {"get", "put", "post", "patch", "delete", "head", "options"}
    ]
    return [label for label in found if label not in UNSCOPED]
