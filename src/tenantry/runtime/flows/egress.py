"""The egress guard: where a flow's ``call`` and ``llm`` may connect.

It resolves the target's host, refuses any address that is not public (loopback, private,
link-local, shared, reserved, multicast) unless a platform setting allows its network, and pins
the address it checked: the request connects to that address (``Host`` and TLS name kept), so a
second DNS answer cannot swap in another. Refusal happens before any connection is attempted.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import httpx

from tenantry.runtime.flows.errors import EgressRefused

Resolver = Callable[[str, int], Awaitable[list[str]]]
Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


async def system_resolver(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


@dataclass(frozen=True, slots=True)
class Pinned:
    """A checked target: connect to ``url`` (the address), say ``host`` to it."""

    url: httpx.URL
    host: str
    address: Address
    extensions: dict[str, Any] = field(default_factory=dict)

    @property
    def headers(self) -> dict[str, str]:
        return {"Host": self.host}


class EgressGuard:
    def __init__(self, *, allow: Iterable[str] = (), resolver: Resolver = system_resolver) -> None:
        self._allow: tuple[Network, ...] = tuple(
            ipaddress.ip_network(net, strict=False) for net in allow
        )
        self._resolve = resolver

    def allowed(self, address: Address) -> bool:
        mapped = getattr(address, "ipv4_mapped", None)
        address = mapped or address
        if any(address in network for network in self._allow):
            return True
        return address.is_global and not address.is_multicast

    async def pin(self, url: str) -> Pinned:
        """``url`` checked and pinned; :class:`EgressRefused` (nothing connected) otherwise."""
        target = _parsed(url)
        host, port = target.host, target.port or (443 if target.scheme == "https" else 80)
        literal = _literal(host)
        addresses = [literal] if literal is not None else await self._lookup(host, port)
        refused = [str(a) for a in addresses if not self.allowed(a)]
        if refused or not addresses:
            raise EgressRefused(
                f"a flow may not connect to {host} ({', '.join(refused) or 'no address'}): "
                "not a public address",
                details={"host": host, "addresses": refused},
            )
        address = addresses[0]
        shown = f"[{address}]" if address.version == 6 else str(address)
        extensions = {"sni_hostname": host} if target.scheme == "https" else {}
        netloc = host if target.port is None else f"{host}:{target.port}"
        return Pinned(target.copy_with(host=shown.strip("[]")), netloc, address, extensions)

    async def _lookup(self, host: str, port: int) -> list[Address]:
        try:
            found = await self._resolve(host, port)
        except OSError as error:
            raise EgressRefused(f"cannot resolve {host}: {error}") from None
        return [ipaddress.ip_address(a.split("%")[0]) for a in found]


def _parsed(url: str) -> httpx.URL:
    try:
        target = httpx.URL(url)
    except (httpx.InvalidURL, TypeError) as error:
        raise EgressRefused(f"not a URL: {error}") from None
    if target.scheme not in {"http", "https"} or not target.host:
        raise EgressRefused(f"a flow connects only to http(s) URLs with a host, not {url[:80]!r}")
    if target.userinfo:
        raise EgressRefused("a URL with credentials in it; inject a secret instead")
    return target


def _literal(host: str) -> Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None
