"""The isolation suite's world: tenants A (acme) and B (bigcorp), each with data made through
the API (a session, a state value, a secret, an object, a search document, an API key).

Every value that identifies a tenant's data carries a random marker, so a response that holds
one of them can only have got it from that tenant's data.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import httpx

from tenantry.bootstrap import Services
from tenantry.tenancy.access.schemas import Role
from tenantry.tenancy.lifecycle.states import JobKind
from tenantry.tenancy.manifests.schemas import Bundle, Channel, Environment, Team, TenantSpec

A: Final = "acme"
B: Final = "bigcorp"
TEAM: Final = "support"
TEAM_OF_A: Final = "acme-ops"  # a team A has and B has not
CHANNEL: Final = "webchat"  # each tenant's team has it; the seeded session is on it
SHARED_WORD: Final = "quarterly"  # in both tenants' documents: a search for it lists one tenant's
PROBLEM: Final = "application/problem+json"
HOOK_CHANNEL: Final = "slack"  # a provider channel of TEAM, whose webhook is signed
HOOK_SECRET: Final = "slack_signing_secret"


@dataclass(frozen=True, slots=True)
class Names:
    """What a request names a tenant's data by (or names that hold nothing, for comparison)."""

    tenant: str
    session: str
    secret: str
    object_key: str
    doc: str
    api_key: str
    token: str  # the jti of a spare token of the tenant's (not one a request is made with)
    job: str  # a lifecycle job of the tenant's (requested and cancelled)
    idempotency: str
    title: str  # searched for

    @classmethod
    def fresh(cls, tenant: str = "nosuchco") -> Names:
        """Well-formed names under which nothing was ever stored."""
        tag = secrets.token_hex(6)
        return cls(
            tenant=tenant,
            session=f"sess-{tag}",
            secret=f"secret-{tag}",
            object_key=f"docs/{tag}/report.txt",
            doc=f"doc-{tag}",
            api_key=secrets.token_hex(8),
            token=secrets.token_hex(16),
            job=secrets.token_hex(16),
            idempotency=f"idem-{tag}",
            title=f"TITLE{tag}",
        )

    def items(self) -> Iterator[tuple[str, str]]:
        """(label, value) of every name but the tenant."""
        labels = (
            "session",
            "secret",
            "object_key",
            "doc",
            "api_key",
            "token",
            "job",
            "idempotency",
        )
        for label in (*labels, "title"):
            yield label, getattr(self, label)

    def object_prefix(self) -> str:
        return self.object_key.rsplit("/", 1)[0]


@dataclass(frozen=True, slots=True)
class Tenant:
    """One tenant of the world: its admin's token, its names and the values it stored."""

    id: str
    principal: str
    token: str
    api_key_secret: str
    names: Names
    values: Mapping[str, str]  # label -> a marker stored in the tenant's data

    def headers(self, *, tenant: str | None = None) -> dict[str, str]:
        """This tenant's credentials, selecting ``tenant`` (its own by default) and the team."""
        return {
            "Authorization": f"Bearer {self.token}",
            "X-Tenant-ID": tenant or self.id,
            "X-Team-ID": TEAM,
        }

    def markers(self) -> dict[str, str]:
        """Everything that identifies this tenant's data: names, stored values, credentials."""
        return {
            **{f"name.{label}": value for label, value in self.names.items()},
            **{f"value.{label}": value for label, value in self.values.items()},
            "credential.token": self.token,
            "credential.api_key": self.api_key_secret,
        }


@dataclass(slots=True)
class World:
    services: Services
    http: httpx.AsyncClient
    a: Tenant
    b: Tenant
    log: list[str] = field(default_factory=list)

    async def snapshot(self, tenant: Tenant) -> dict[str, Any]:
        """Everything the tenant can read of its data, to compare before and after."""
        names, seen = tenant.names, {}
        reads = {
            "sessions": "/api/v1/sessions",
            "session": f"/api/v1/sessions/{names.session}",
            "state": f"/api/v1/state/{names.session}",
            "secrets": "/api/v1/secrets",
            "secret": f"/api/v1/secrets/{names.secret}",
            "versions": f"/api/v1/secrets/{names.secret}/versions",
            "objects": "/api/v1/objects",
            "object": f"/api/v1/objects/{names.object_key}",
            "search": f"/api/v1/search?q={names.title}",
            "api-keys": "/api/v1/api-keys",
        }
        for label, path in reads.items():
            response = await self.http.get(path, headers=tenant.headers())
            assert response.status_code == 200, (label, response.text)
            seen[label] = _content(response)
        admin = {"Authorization": "Bearer admin-secret"}  # the `settings` fixture's admin token
        tenant_row = await self.http.get(f"/api/v1/tenants/{tenant.id}", headers=admin)
        seen["tenant"] = _content(tenant_row)
        return seen


def _content(response: httpx.Response) -> Any:
    if response.headers.get("content-type", "").startswith("application/json"):
        return response.json()
    return response.content


def bundle() -> Bundle:
    spec = {
        t: TenantSpec(
            name=t,
            environments=[Environment(id="prod")],
            teams={
                TEAM: Team(
                    channels={
                        CHANNEL: Channel(provider="messaging-webchat"),
                        HOOK_CHANNEL: Channel(provider="messaging-slack"),
                    }
                ),
                **({TEAM_OF_A: Team()} if t == A else {}),
            },
        )
        for t in (A, B)
    }
    return Bundle(tenants=spec)


async def build(services: Services, http: httpx.AsyncClient) -> World:
    """Both tenants registered, reconciled and holding data made through the API."""
    await services.registry.apply(bundle())
    outcomes = await services.controller.reconcile_many([A, B], concurrency=2)
    assert {o.result for o in outcomes} == {"ready"}, [o.message for o in outcomes]
    return World(services, http, await seed(services, http, A), await seed(services, http, B))


async def seed(services: Services, http: httpx.AsyncClient, tenant: str) -> Tenant:
    tag = secrets.token_hex(6)
    names = Names(
        tenant=tenant,
        session=f"sess-{tag}",
        secret=f"secret-{tag}",
        object_key=f"docs/{tag}/report.txt",
        doc=f"doc-{tag}",
        api_key="",  # known once the key is made
        token="",  # known once the spare token is issued
        job="",  # known once the job is requested
        idempotency=f"idem-{tag}",
        title=f"TITLE{tag}",
    )
    values = {
        "signing": f"SIGNING{tag}",  # the hook channel's signing secret
        "variable": f"VAR{tag}",
        "said": f"SAID{tag}",
        "user": f"user-{tag}",
        "state": f"STATE{tag}",
        "secret": f"SECRET{tag}",
        "object": f"OBJECT{tag}",
        "body": f"BODY{tag}",
        "field": f"FIELD{tag}",
        "key_name": f"key-{tag}",
    }
    principal = f"admin-{tenant}"
    issued = await services.access.issue_token(principal, tenant=tenant, role=Role.TENANT_ADMIN)
    draft = Tenant(tenant, principal, issued.token, "", names, values)
    key = await _store(http, draft)
    spare = await services.access.issue_token(f"spare-{tenant}", tenant=tenant, role=Role.VIEWER)
    job = await services.lifecycle.request(JobKind.ROTATE_KEYS, tenant, actor=principal)
    await services.lifecycle.cancel(job.id)  # kept as a job of the tenant's, not active
    made = {"api_key": key["key"]["id"], "token": spare.jti, "job": job.id}
    final_names = Names(**{**_fields(names), **made})
    return Tenant(tenant, principal, issued.token, key["secret"], final_names, values)


def _fields(names: Names) -> dict[str, str]:
    return {"tenant": names.tenant, **dict(names.items())}


async def _store(http: httpx.AsyncClient, tenant: Tenant) -> dict[str, Any]:
    """Make the tenant's data through the API; the API key's creation answer is returned."""
    n, v, headers = tenant.names, tenant.values, tenant.headers()
    session = {
        "session_id": n.session,
        "channel_id": CHANNEL,
        "user_id": v["user"],
        "variables": {"note": v["variable"]},
        "transcript": [{"role": "user", "text": v["said"]}],
    }
    document = {
        "doc_id": n.doc,
        "title": n.title,
        "body": f"{v['body']} {SHARED_WORD} report",
        "fields": {"owner": v["field"]},
    }
    writes: list[tuple[str, str, dict[str, Any]]] = [
        ("POST", "/api/v1/sessions", {"json": session, "idempotency": "sessions"}),
        ("PUT", f"/api/v1/state/{n.session}", {"json": {"note": v["state"]}}),
        ("PUT", f"/api/v1/secrets/{n.secret}", {"json": {"value": v["secret"]}}),
        ("PUT", f"/api/v1/secrets/{HOOK_SECRET}", {"json": {"value": v["signing"]}}),
        ("PUT", f"/api/v1/objects/{n.object_key}", {"content": v["object"].encode()}),
        ("POST", "/api/v1/search/documents", {"json": document, "idempotency": "documents"}),
        ("POST", "/api/v1/api-keys", {"json": {"name": v["key_name"], "role": "tenant-admin"}}),
    ]
    answer: dict[str, Any] = {}
    for method, path, options in writes:
        use = options.pop("idempotency", None)
        extra = {"Idempotency-Key": f"{n.idempotency}.{use}"} if use else {}
        response = await http.request(method, path, headers=headers | extra, **options)
        assert response.is_success, (method, path, response.text)
        answer = response.json() if response.content else {}
    return answer


def leaked(answer: str, markers: Mapping[str, str], sent: str) -> list[str]:
    """Labels of the markers in ``answer`` (an answer's body and headers, as text) that are not
    in ``sent`` (everything the request carried, as text): echoes are not leaks."""
    return [label for label, value in markers.items() if value in answer and value not in sent]
