"""``/api/v1/secrets``: names for readers, values for roles that may read them, key rotation."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest

from tenantry.bootstrap import Services
from tenantry.tenancy.access.schemas import Role
from tests.api.runtime.support import as_, assert_problem

URL = "/api/v1/secrets"
ADMIN = as_(role=Role.TEAM_ADMIN)
TENANT_ADMIN = as_(role=Role.TENANT_ADMIN, team=None)
VALUE = "xoxb-super-secret-value"


async def _put(api: httpx.AsyncClient, name: str, value: str, headers: dict[str, str]) -> Any:
    response = await api.put(f"{URL}/{name}", json={"value": value}, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def test_write_list_read_versions_delete(
    api: httpx.AsyncClient, capfd: pytest.CaptureFixture[str]
) -> None:
    first = await _put(api, "slack_bot_token", VALUE, ADMIN)
    assert (first["name"], first["team_id"], first["version"]) == ("slack_bot_token", "support", 1)
    assert first["size"] == len(VALUE) and "value" not in first
    second = await _put(api, "slack_bot_token", VALUE + "-2", ADMIN)
    assert second["version"] == 2
    listing = await api.get(URL, headers=as_(role=Role.VIEWER))
    (summary,) = listing.json()["items"]
    assert (summary["name"], summary["latest"], summary["versions"]) == (
        "slack_bot_token",
        2,
        [1, 2],
    )
    assert VALUE not in listing.text
    read = await api.get(f"{URL}/slack_bot_token", headers=ADMIN)
    assert read.json()["value"] == VALUE + "-2" and read.json()["encoding"] == "utf-8"
    assert read.headers["cache-control"] == "no-store"
    old = await api.get(f"{URL}/slack_bot_token", params={"version": 1}, headers=ADMIN)
    assert (old.json()["version"], old.json()["value"]) == (1, VALUE)
    versions = await api.get(f"{URL}/slack_bot_token/versions", headers=as_())
    assert [v["version"] for v in versions.json()["items"]] == [1, 2]
    assert VALUE not in versions.text
    assert (await api.delete(f"{URL}/slack_bot_token", headers=ADMIN)).status_code == 204
    assert_problem(await api.get(f"{URL}/slack_bot_token", headers=ADMIN), 404, "secret.not_found")
    assert (await api.get(URL, headers=ADMIN)).json() == {"items": []}
    assert VALUE not in "".join(capfd.readouterr())  # never logged


async def test_binary_values_travel_as_base64(api: httpx.AsyncClient) -> None:
    raw = bytes(range(256))
    body = {"value": base64.b64encode(raw).decode(), "encoding": "base64"}
    assert (await api.put(f"{URL}/blob", json=body, headers=ADMIN)).status_code == 200
    read = (await api.get(f"{URL}/blob", headers=ADMIN)).json()
    assert read["encoding"] == "base64" and base64.b64decode(read["value"]) == raw


async def test_a_team_falls_back_to_its_tenant(api: httpx.AsyncClient) -> None:
    await _put(api, "openai_api_key", "sk-tenant", TENANT_ADMIN)
    read = (await api.get(f"{URL}/openai_api_key", headers=ADMIN)).json()
    assert (read["value"], read["team_id"]) == ("sk-tenant", None)
    await _put(api, "openai_api_key", "sk-team", ADMIN)
    assert (await api.get(f"{URL}/openai_api_key", headers=ADMIN)).json()["value"] == "sk-team"
    tenant_read = await api.get(f"{URL}/openai_api_key", headers=TENANT_ADMIN)
    assert tenant_read.json()["value"] == "sk-tenant"
    assert [s["name"] for s in (await api.get(URL, headers=TENANT_ADMIN)).json()["items"]] == [
        "openai_api_key"
    ]


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        (Role.VIEWER, set()),
        (Role.TEAM_MEMBER, set()),
        (Role.TEAM_ADMIN, {"read", "write"}),
        (Role.TENANT_ADMIN, {"read", "write", "rotate"}),
    ],
)
async def test_roles(api: httpx.AsyncClient, role: Role, allowed: set[str]) -> None:
    await _put(api, "token", VALUE, as_(role=Role.TENANT_ADMIN))
    headers = as_(role=role)
    attempts = {
        "read": await api.get(f"{URL}/token", headers=headers),
        "write": await api.put(f"{URL}/other", json={"value": "v"}, headers=headers),
        "rotate": await api.post(f"{URL}/rotate-key", headers=headers),
    }
    for action, response in attempts.items():
        if action in allowed:
            expected = 202 if action == "rotate" else 200  # rotating keys is a job
            assert response.status_code == expected, (action, response.text)
        else:
            assert_problem(response, 403, "auth.role_forbidden")
            assert VALUE not in response.text
    assert (await api.get(URL, headers=headers)).status_code == 200  # names are for every role
    assert_problem(
        await api.delete(f"{URL}/token", headers=as_(role=Role.TEAM_MEMBER)),
        403,
        "auth.role_forbidden",
    )


async def test_rotation_starts_the_tenants_rotate_keys_job(
    api: httpx.AsyncClient, tenants: Services
) -> None:
    await _put(api, "token", VALUE, TENANT_ADMIN)
    rotated = await api.post(f"{URL}/rotate-key", headers=TENANT_ADMIN)
    assert rotated.status_code == 202, rotated.text
    job = rotated.json()
    assert (job["kind"], job["state"], job["requested_by"]) == ("rotate-keys", "queued", "user-1")
    assert "claimed_by" not in job and "params" not in job  # the platform's, not the tenant's
    again = await api.post(f"{URL}/rotate-key", headers=TENANT_ADMIN)
    assert again.json()["id"] == job["id"]  # the job already doing it
    stored = await tenants.lifecycle.get(job["id"])
    assert (stored.tenant_id, stored.kind) == ("acme", "rotate-keys")
    # the value still reads while the job waits for a worker
    assert (await api.get(f"{URL}/token", headers=TENANT_ADMIN)).json()["value"] == VALUE


@pytest.mark.parametrize(
    ("name", "body", "code"),
    [
        ("BAD", {"value": "v"}, "id.invalid"),
        ("a.b", {"value": "v"}, "id.invalid"),
        ("s" * 65, {"value": "v"}, "id.invalid"),
        ("ok", {"value": "not base64!", "encoding": "base64"}, "secret.value_invalid"),
        ("ok", {"value": "v", "encoding": "latin-1"}, "request.invalid"),
        ("ok", {"value": 42}, "request.invalid"),
        ("ok", {}, "request.invalid"),
        ("ok", {"value": "x" * (65 * 1024)}, "secret.too_large"),
        ("ok", {"value": "x" * (129 * 1024)}, "secret.too_large"),
        ("ok", {"value": "é" * (40 * 1024)}, "secret.too_large"),
    ],
)
async def test_bad_input_is_400_and_writes_nothing(
    api: httpx.AsyncClient, name: str, body: dict[str, Any], code: str
) -> None:
    status = 413 if code.endswith("too_large") else 400
    assert_problem(await api.put(f"{URL}/{name}", json=body, headers=ADMIN), status, code)
    assert (await api.get(URL, headers=ADMIN)).json() == {"items": []}


async def test_bad_versions_are_400(api: httpx.AsyncClient) -> None:
    await _put(api, "token", VALUE, ADMIN)
    for version, code in ((0, "secret.version_invalid"), ("one", "request.invalid")):
        response = await api.get(f"{URL}/token", params={"version": version}, headers=ADMIN)
        assert_problem(response, 400, code)
    missing = await api.get(f"{URL}/token", params={"version": 9}, headers=ADMIN)
    assert_problem(missing, 404, "secret.not_found")


@pytest.mark.parametrize(
    "other",
    [as_(tenant="bigcorp", role=Role.TENANT_ADMIN), as_(team="sales", role=Role.TEAM_ADMIN)],
)
async def test_another_tenants_or_teams_secret_is_404_like_missing(
    api: httpx.AsyncClient, other: dict[str, str]
) -> None:
    def attempts() -> list[Any]:
        return [
            api.get(f"{URL}/webhook_secret", headers=other),
            api.get(f"{URL}/webhook_secret/versions", headers=other),
            api.delete(f"{URL}/webhook_secret", headers=other),
        ]

    before = [await attempt for attempt in attempts()]
    await _put(api, "webhook_secret", VALUE, ADMIN)
    after = [await attempt for attempt in attempts()]
    for missing, foreign in zip(before, after, strict=True):
        assert_problem(foreign, 404, "secret.not_found")
        assert foreign.json() == missing.json() and VALUE not in foreign.text
    assert (await api.get(URL, headers=other)).json() == {"items": []}
    assert (await api.get(f"{URL}/webhook_secret", headers=ADMIN)).json()["value"] == VALUE
