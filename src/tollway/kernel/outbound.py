"""Outgoing HTTP to addresses customers give us (webhooks, alert channels).

Only ``http`` and ``https`` URLs are accepted, and unless private targets are
allowed (test mode, or ``TOLLWAY_WEBHOOK_ALLOW_PRIVATE_TARGETS``) the host is
resolved and every address it resolves to must be a public one: loopback,
private, link-local, shared, reserved and multicast ranges are refused, so
webhooks cannot be used to probe the network Tollway runs in. The check is made
when the URL is saved and again before every request (DNS may change), and
redirects are never followed.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import httpx

Resolver = Callable[..., list[tuple[Any, ...]]]

_SCHEMES = {"http": 80, "https": 443}


def url_refusal(
    url: str, *, allow_private: bool, resolve: Resolver = socket.getaddrinfo
) -> str | None:
    """Why ``url`` may not be called, or ``None`` when it may."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        return f"is not a valid URL: {exc}"
    if parts.scheme not in _SCHEMES:
        return "must be an http or https URL"
    if not parts.hostname:
        return "has no host"
    if parts.username or parts.password:
        return "must not carry credentials"
    if allow_private:
        return None
    return _address_refusal(parts.hostname, port or _SCHEMES[parts.scheme], resolve)


def _address_refusal(host: str, port: int, resolve: Resolver) -> str | None:
    try:
        infos = resolve(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        infos = []
    if not infos:
        return f"host {host!r} does not resolve"
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if not _public(address):
            return f"host {host!r} resolves to {address}, a private or loopback address"
    return None


def _public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return _public(address.ipv4_mapped)
    return address.is_global and not address.is_multicast


def http_client(timeout_seconds: float) -> httpx.Client:
    """A client with a timeout on every phase, no redirects, no proxies from the env."""
    return httpx.Client(
        timeout=httpx.Timeout(timeout_seconds, connect=min(timeout_seconds, 5.0)),
        follow_redirects=False,
        trust_env=False,
        headers={"user-agent": "Tollway-Webhooks/1"},
    )
