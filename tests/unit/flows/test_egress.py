"""The egress guard refuses before any connection: IP literals and an injected resolver only
(no DNS query leaves this machine, no private address is ever dialled)."""

from __future__ import annotations

import httpx
import pytest

from tenantry.runtime.flows.effects import Effects
from tenantry.runtime.flows.egress import EgressGuard
from tenantry.runtime.flows.errors import EgressRefused
from tenantry.runtime.flows.ports import NoTokens
from tenantry.runtime.flows.schemas import Call


class NeverConnect(httpx.AsyncBaseTransport):
    """A transport that fails the test if a request ever reaches it."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        raise AssertionError(f"a connection was attempted to {request.url}")


class Resolver:
    """An injected resolver: a fixed table, and the names asked."""

    def __init__(self, table: dict[str, list[str]]) -> None:
        self.table, self.asked = table, []  # type: ignore[var-annotated]

    async def __call__(self, host: str, port: int) -> list[str]:
        self.asked.append(host)
        if host not in self.table:
            raise OSError("no such host")
        return self.table[host]


REFUSED = [
    "http://127.0.0.1/",
    "http://127.8.9.10:8080/x",
    "http://[::1]/",
    "http://169.254.169.254/latest/meta-data/",
    "http://[fe80::1]/",
    "http://10.0.0.1/",
    "http://172.16.5.4/",
    "http://192.168.1.1/",
    "http://100.64.0.1/",
    "http://0.0.0.0/",
    "http://[::ffff:10.0.0.1]/",
    "http://[::ffff:169.254.169.254]/",
    "http://224.0.0.1/",
    "ftp://93.184.216.34/",
    "file:///etc/passwd",
    "http://user:pw@93.184.216.34/",
    "not a url",
]


@pytest.mark.parametrize("url", REFUSED)
async def test_a_non_public_target_is_refused_before_any_connection(url: str) -> None:
    resolver = Resolver({})
    guard = EgressGuard(resolver=resolver)
    transport = NeverConnect()
    effects = Effects(guard, NoTokens(), transport)
    with pytest.raises(EgressRefused):
        await guard.pin(url)
    result = await effects.call(Call(url=url), {}, secrets=None, key="k")  # type: ignore[arg-type]
    assert result["ok"] is False and result["status"] == 0
    assert transport.requests == [] and resolver.asked == []  # literals: no lookup either


async def test_a_name_resolving_to_a_private_address_is_refused() -> None:
    resolver = Resolver({"internal.example": ["203.0.113.9", "10.1.2.3"]})
    guard = EgressGuard(resolver=resolver)
    with pytest.raises(EgressRefused, match=r"10\.1\.2\.3"):
        await guard.pin("https://internal.example/api")
    assert resolver.asked == ["internal.example"]
    with pytest.raises(EgressRefused, match="resolve"):
        await guard.pin("https://unknown.example/")


async def test_a_public_address_is_pinned_with_its_name_kept() -> None:
    resolver = Resolver({"api.example": ["93.184.216.34"]})
    pinned = await EgressGuard(resolver=resolver).pin("https://api.example:8443/v1?q=1")
    assert str(pinned.url) == "https://93.184.216.34:8443/v1?q=1"
    assert pinned.headers == {"Host": "api.example:8443"}
    assert pinned.extensions == {"sni_hostname": "api.example"}


async def test_the_platform_may_allow_a_network() -> None:
    guard = EgressGuard(allow=["127.0.0.0/8"], resolver=Resolver({}))
    assert (await guard.pin("http://127.0.0.1:9/")).host == "127.0.0.1:9"
    with pytest.raises(EgressRefused):
        await guard.pin("http://169.254.169.254/")
