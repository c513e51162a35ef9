"""Visitor credentials: one conversation, nothing else (DESIGN.md section 6; issue 12)."""

from __future__ import annotations

import httpx

from tenantry.bootstrap import Services
from tenantry.core import names
from tenantry.tenancy.access.schemas import Role
from tests.api.webchat.support import CHANNEL, OTHER_CHANNEL, answer, caller, mint, visitor

MESSAGES = f"/api/v1/channels/{CHANNEL}/messages"


async def test_a_visitor_talks_in_its_own_conversation(
    chat: Services, http: httpx.AsyncClient
) -> None:
    admin = await caller(chat, "acme", Role.TEAM_ADMIN)
    minted = await mint(http, admin)
    assert (minted["channel_id"], minted["token_type"]) == (CHANNEL, "Bearer")
    assert minted["user_id"] == minted["principal"]  # speaks as itself unless named
    headers = visitor(minted)  # no tenant, team or env header: the credential names them
    posted = await http.post(MESSAGES, json={"text": "hi"}, headers=headers)
    assert posted.status_code == 202, posted.text
    assert posted.json()["session_id"] == minted["session_id"]
    [message] = await answer(chat, "acme", ["hello {text}"])
    assert (message.user_id, message.team_id) == (minted["user_id"], "support")
    got = await http.get(MESSAGES, params={"session_id": minted["session_id"]}, headers=headers)
    assert [m["text"] for m in got.json()["messages"]] == ["hello hi"]
    events = await http.get(
        f"/api/v1/channels/{CHANNEL}/events",
        params={"session_id": minted["session_id"], "wait": "0"},
        headers=headers,
    )
    assert "hello hi" in events.text
    records = await chat.access.audit_records(tenant="acme")
    assert any(r.action == "visitor.mint" and r.actor == "team-admin-acme" for r in records)


async def test_a_visitor_reaches_nothing_else(chat: Services, http: httpx.AsyncClient) -> None:
    admin = await caller(chat, "acme", Role.TENANT_ADMIN)
    member = await caller(chat, "acme", Role.TEAM_MEMBER)
    minted = await mint(http, admin, user_id="alice")
    mine = minted["session_id"]
    other = await http.post(
        MESSAGES, json={"user_id": "bob", "text": "MARKER-of-bob"}, headers=member.headers()
    )
    theirs = other.json()["session_id"]
    b_admin = await caller(chat, "bigcorp", Role.TENANT_ADMIN)
    b_session = (await mint(http, b_admin))["session_id"]
    headers = visitor(minted)
    refusals = [
        # another session of its channel, of another tenant, or never made: like a missing one
        ("GET", MESSAGES, {"params": {"session_id": theirs}}, 404),
        ("GET", MESSAGES, {"params": {"session_id": b_session}}, 404),
        ("POST", MESSAGES, {"json": {"text": "x", "session_id": theirs}}, 404),
        ("POST", MESSAGES, {"json": {"text": "x", "session_id": "never-made"}}, 404),
        ("GET", f"/api/v1/channels/{CHANNEL}/events", {"params": {"session_id": theirs}}, 404),
        # another channel of its team
        (
            "GET",
            f"/api/v1/channels/{OTHER_CHANNEL}/messages",
            {"params": {"session_id": mine}},
            404,
        ),
        ("POST", f"/api/v1/channels/{OTHER_CHANNEL}/messages", {"json": {"text": "x"}}, 404),
        # another user than its own
        ("POST", MESSAGES, {"json": {"text": "x", "user_id": "bob"}}, 403),
        # every other route
        ("GET", "/api/v1/sessions", {}, 403),
        ("GET", f"/api/v1/sessions/{mine}", {}, 403),
        ("GET", f"/api/v1/state/{mine}", {}, 403),
        ("GET", "/api/v1/secrets", {}, 403),
        ("GET", "/api/v1/objects", {}, 403),
        ("GET", "/api/v1/usage", {}, 403),
        ("POST", f"/api/v1/channels/{CHANNEL}/visitors", {"json": {}}, 403),
        ("POST", "/api/v1/tokens", {"json": {"principal": "x", "role": "viewer"}}, 403),
        ("GET", "/api/v1/tenants", {}, 403),
    ]
    for method, path, options, status in refusals:
        response = await http.request(method, path, headers=headers, **options)
        assert response.status_code == status, (method, path, response.text)
        assert "MARKER-of-bob" not in response.text
    selections = [
        ({"X-Tenant-ID": "bigcorp"}, 403, "auth.tenant_mismatch"),
        ({"X-Team-ID": "sales"}, 403, "auth.team_mismatch"),
        ({"X-Env-ID": "staging"}, 403, "auth.env_mismatch"),
    ]
    for extra, status, code in selections:
        response = await http.get(
            MESSAGES, params={"session_id": mine}, headers=visitor(minted, **extra)
        )
        assert (response.status_code, response.json()["code"]) == (status, code), response.text
    left = await chat.bus.fetch(names.Direction.INGRESS, "acme", "prod", batch=10, wait=0.05)
    assert [d.data for d in left if b'"bob"' not in d.data] == []  # only the member's message


async def test_only_team_admins_mint_and_bad_requests_mint_nothing(
    chat: Services, http: httpx.AsyncClient
) -> None:
    member = await caller(chat, "acme", Role.TEAM_MEMBER)
    refused = await http.post(
        f"/api/v1/channels/{CHANNEL}/visitors", json={}, headers=member.headers()
    )
    assert (refused.status_code, refused.json()["code"]) == (403, "auth.role_forbidden")
    admin = await caller(chat, "acme", Role.TEAM_ADMIN)
    bad = [
        (CHANNEL, {"ttl_seconds": 0}, 400),
        (CHANNEL, {"ttl_seconds": 90_000}, 400),
        (CHANNEL, {"ttl_seconds": 7200}, 400),  # past the minting token's own hour
        (CHANNEL, {"session_id": "Bad Id"}, 400),
        (CHANNEL, {"session_id": "absent"}, 404),
        (CHANNEL, {"user_id": "a b"}, 400),
        (CHANNEL, {"surprise": True}, 400),
        ("no-such-channel", {}, 404),
        ("bad.channel", {}, 400),
    ]
    for channel, body, status in bad:
        response = await http.post(
            f"/api/v1/channels/{channel}/visitors", json=body, headers=admin.headers()
        )
        assert response.status_code == status, (channel, body, response.text)
    listed = await http.get("/api/v1/sessions", headers=admin.headers())
    assert listed.json()["items"] == []


async def test_a_revoked_or_expired_visitor_is_refused(
    chat: Services, http: httpx.AsyncClient
) -> None:
    admin = await caller(chat, "acme", Role.TENANT_ADMIN)
    minted = await mint(http, admin)
    revoked = await http.delete(f"/api/v1/tokens/{minted['jti']}", headers=admin.headers())
    assert revoked.status_code == 204, revoked.text
    response = await http.post(MESSAGES, json={"text": "x"}, headers=visitor(minted))
    assert (response.status_code, response.json()["code"]) == (401, "auth.revoked_token")


async def test_visitor_tokens_cannot_be_issued_as_tokens(
    chat: Services, http: httpx.AsyncClient
) -> None:
    admin = await caller(chat, "acme", Role.TENANT_ADMIN)
    for body in (
        {"principal": "v", "role": "visitor"},
        {"principal": "v", "role": "viewer", "kind": "visitor"},
    ):
        response = await http.post("/api/v1/tokens", json=body, headers=admin.headers())
        assert (response.status_code, response.json()["code"]) == (400, "grant.invalid"), body
