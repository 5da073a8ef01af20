"""Outgoing HTTP to addresses customers give us (webhooks, alert channels).

Only ``http`` and ``https`` URLs are accepted, and unless private targets are
allowed (test mode, or ``TOLLWAY_WEBHOOK_ALLOW_PRIVATE_TARGETS``) the host is
resolved and every address it resolves to must be a public one: loopback,
private, link-local, shared, reserved and multicast ranges are refused, so
webhooks cannot be used to probe the network Tollway runs in. The check is made
when the URL is saved and again before every request, and the request then
connects to an address that was checked (the host is sent in ``Host`` and as the
TLS server name), so a DNS answer that changes between the check and the
connection (DNS rebinding) cannot steer it elsewhere. Redirects are never followed.
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


class Refused(Exception):
    """The URL may not be called; the message says why."""


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
    refusal, _ = _addresses(parts.hostname, port or _SCHEMES[parts.scheme], resolve, False)
    return refusal


Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def _addresses(
    host: str, port: int, resolve: Resolver, allow_private: bool
) -> tuple[str | None, list[Address]]:
    """(why not, the addresses to connect to, in the resolver's order)."""
    try:
        infos = resolve(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        infos = []
    found: list[Address] = []
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if not allow_private and not _public(address):
            return f"host {host!r} resolves to {address}, a private or loopback address", []
        if address not in found:
            found.append(address)
    if not found:
        return f"host {host!r} does not resolve", []
    return None, found


def post(
    client: httpx.Client,
    url: str,
    *,
    allow_private: bool,
    content: bytes,
    headers: dict[str, str],
    resolve: Resolver = socket.getaddrinfo,
) -> httpx.Response:
    """POST to ``url`` through an address checked just now, trying each in turn.

    Raises :class:`Refused` when the URL may not be called, or httpx's errors.
    """
    refusal = url_refusal(url, allow_private=True)
    if refusal is not None:
        raise Refused(f"the URL {refusal}")
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or _SCHEMES[parts.scheme]
    refusal, addresses = _addresses(host, port, resolve, allow_private)
    if refusal is not None:
        raise Refused(f"the URL {refusal}")
    extensions = {"sni_hostname": host} if parts.scheme == "https" else {}
    pinned_headers = {**headers, "host": parts.netloc}
    last: httpx.ConnectError | None = None
    for address in addresses:
        literal = f"[{address}]" if address.version == 6 else str(address)
        target = parts._replace(netloc=f"{literal}:{port}").geturl()
        try:
            return client.post(
                target, content=content, headers=pinned_headers, extensions=extensions
            )
        except httpx.ConnectError as exc:
            last = exc
    assert last is not None
    raise last


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
