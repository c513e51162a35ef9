"""An endpoint's URL, checked when it is added (pure); the guard checks it again at delivery.

Only http(s) with a host, no credentials or fragment, bounded length; an IP literal must be an
address the egress rules allow. Names are resolved only at delivery, where the address is
pinned, so a later DNS change cannot reach a refused address either.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from typing import Final

import httpx

from tenantry.tenancy.webhooks.errors import BadUrl

MAX_URL: Final = 2048
_HOSTNAME: Final = re.compile(
    r"(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?"
)
Allowed = Callable[[ipaddress.IPv4Address | ipaddress.IPv6Address], bool]


def checked(url: str, *, allowed: Allowed) -> str:
    """``url`` if an endpoint may have it, else :class:`BadUrl`."""
    if len(url) > MAX_URL:
        raise BadUrl(f"a URL of at most {MAX_URL} characters")
    try:
        target = httpx.URL(url)
        host, port = target.host, target.port  # an IDNA error is raised by .host
    except (httpx.InvalidURL, TypeError, ValueError) as error:  # IDNA errors are ValueErrors
        raise BadUrl(f"not a URL: {str(error)[:200]}") from None
    if target.scheme not in {"http", "https"} or not host:
        raise BadUrl("an endpoint is an http:// or https:// URL with a host")
    if port is not None and not 0 < port < 65_536:
        raise BadUrl(f"no port {port}")
    literal = _literal(host)
    if literal is None and not _HOSTNAME.fullmatch(host):
        raise BadUrl("the URL's host is not a host name or an IP address")
    if target.userinfo:
        raise BadUrl("no credentials in the URL: verify deliveries by their signature")
    if target.fragment:
        raise BadUrl("no fragment (#...) in the URL: it is never sent")
    if literal is not None and not allowed(literal):
        raise BadUrl(
            f"deliveries may not go to {literal}: not a public address "
            "(the platform's webhook_egress_allow lists the networks allowed)"
        )
    return str(target)


def _literal(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None
