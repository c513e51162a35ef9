"""What the isolation suite does to a provider webhook: its access is the signature of the
channel's secret, so B's attempts on A are B's signature, forged ones and B's bearer token."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time

import httpx

from tenantry.core import names
from tenantry.runtime.messaging.envelope import Envelope
from tests.isolation.probes import assert_no_leak, code_of, suspend
from tests.isolation.table import Route
from tests.isolation.world import A, Names, Tenant, World

UNSIGNED = (401, "hook.signature_invalid")


def event(text: str) -> bytes:
    return json.dumps(
        {
            "type": "event_callback",
            "event_id": f"Ev{secrets.token_hex(6)}",
            "event": {"type": "message", "channel": "C1", "user": "U1", "text": text},
        }
    ).encode()


def signed(secret: str, body: bytes) -> dict[str, str]:
    stamp = str(int(time.time()))  # a valid timestamp for the server's clock, not an assertion
    mac = hmac.new(secret.encode(), f"v0:{stamp}:".encode() + body, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": f"v0={mac}"}


async def hook(
    world: World, route: Route, names_: Names, body: bytes, headers: dict[str, str]
) -> httpx.Response:
    call = route.build(names_)[0]
    response = await world.http.post(call.path, content=body, headers=headers)
    world.log.append(f"POST {call.path} -> {response.status_code}")
    return response


async def texts(world: World, tenant: str) -> list[str]:
    found = []
    for delivery in await world.services.bus.fetch(
        names.Direction.INGRESS, tenant, "prod", batch=100, wait=0
    ):
        found.append(Envelope.decode(delivery.data).text)
        await delivery.ack()
    return found


async def probe(world: World, route: Route) -> None:
    """(a) B's signature on A's hook: 401, as on a hook naming nothing; B's own works.
    (c) forged signatures and B's bearer token on A's hook: 401.
    (d) suspended, B's signed message is held (200), not refused."""
    a, b = world.a, world.b
    body = event("mallory was here")
    for target in (a.names, Names.fresh()):
        response = await hook(world, route, target, body, signed(_signing(b), body))
        assert (response.status_code, code_of(response)) == UNSIGNED, response.text
        assert_no_leak(world, response)
    for headers in (
        signed(secrets.token_hex(16), body),
        signed(_signing(a), body + b" "),  # A's secret, over another body
        {"Authorization": f"Bearer {b.token}", "X-Tenant-ID": A},
        {},
    ):
        response = await hook(world, route, a.names, body, headers)
        assert (response.status_code, code_of(response)) == UNSIGNED, response.text
        assert_no_leak(world, response)
    assert await texts(world, A) == []
    body = event("mine")
    own = await hook(world, route, b.names, body, signed(_signing(b), body))
    assert own.status_code == 200, own.text
    assert await texts(world, b.id) == ["mine"]
    await suspend(world, b)
    body = event("held")
    held = await hook(world, route, b.names, body, signed(_signing(b), body))
    assert held.status_code == 200, held.text
    assert await texts(world, b.id) == ["held"]
    assert await texts(world, A) == []


def _signing(tenant: Tenant) -> str:
    return tenant.values["signing"]
