"""The client address: the socket peer, or what a trusted proxy says it saw."""

from __future__ import annotations

import ipaddress

import pytest

from tenantry.api.doors import client_address

TRUSTED = (ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("::1/128"))


@pytest.mark.parametrize(
    ("peer", "forwarded", "expected"),
    [
        ("192.0.2.1", [], "192.0.2.1"),
        ("192.0.2.1", ["198.51.100.7"], "192.0.2.1"),  # an untrusted peer's header is ignored
        ("10.0.0.1", ["198.51.100.7"], "198.51.100.7"),
        ("10.0.0.1", ["203.0.113.1, 198.51.100.7"], "198.51.100.7"),  # the client can prepend
        ("10.0.0.1", ["198.51.100.7, 10.0.0.2"], "198.51.100.7"),  # two proxies of ours
        ("10.0.0.1", ["198.51.100.7", "10.0.0.2"], "198.51.100.7"),  # repeated headers
        ("10.0.0.1", ["10.0.0.3, 10.0.0.2"], "10.0.0.3"),  # only proxies: the farthest
        ("10.0.0.1", ["not-an-ip"], "10.0.0.1"),  # garbage: no further than our proxy
        ("10.0.0.1", ["198.51.100.7, garbage"], "10.0.0.1"),
        ("::1", ["2001:db8::1"], "2001:db8::1"),
        (None, ["198.51.100.7"], "unknown"),
    ],
)
def test_client_address(peer: str | None, forwarded: list[str], expected: str) -> None:
    assert client_address(peer, forwarded, TRUSTED) == expected


def test_without_trusted_proxies_the_peer_is_the_client() -> None:
    assert client_address("10.0.0.1", ["198.51.100.7"], ()) == "10.0.0.1"
