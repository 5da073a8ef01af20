"""Outgoing HTTP to addresses customers give us (webhooks, alert channels).

Only ``http`` and ``https`` URLs are accepted, and unless private targets are
allowed (test mode, or ``TOLLWAY_WEBHOOK_ALLOW_PRIVATE_TARGETS``) the host is
resolved and every address it resolves to must be a public one
(:mod:`tollway.kernel.addresses`: loopback, private, link-local, shared,
reserved, documentation and multicast blocks are refused, also when embedded in
IPv6 as mapped, NAT64 or 6to4 addresses), so webhooks cannot be used to probe
the network Tollway runs in. The check is made when the URL is saved and again
before every request, and the request then connects to an address that was
checked (the host, in its IDNA/punycode form, is sent in ``Host`` and as the TLS
server name), so a DNS answer that changes between the check and the connection
(DNS rebinding) cannot steer it elsewhere. Redirects are never followed.

Every request has one overall deadline (its timeout) covering name resolution
(which runs in a thread so a hung resolver cannot hold the caller), connecting,
sending and reading; the response body is read only up to
:data:`MAX_RESPONSE_BYTES`. A server dripping bytes is cut off at the deadline
plus at most one read wait.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import SplitResult, urlsplit

import httpx
import idna

from tollway.kernel.addresses import Address, is_public

Resolver = Callable[..., list[tuple[Any, ...]]]

_SCHEMES = {"http": 80, "https": 443}
MAX_RESPONSE_BYTES = 64 * 1024
"""The most of a response body read; the rest is never downloaded."""
DNS_TIMEOUT_SECONDS = 5.0
DEFAULT_DEADLINE_SECONDS = 10.0


class ResolveTimeout(Exception):
    """Name resolution took longer than allowed."""


class Refused(Exception):
    """The URL may not be called; the message says why."""


@dataclass(frozen=True)
class Reply:
    """An answer: its status and the first :data:`MAX_RESPONSE_BYTES` of its body."""

    status_code: int
    content: bytes
    truncated: bool

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")


def ascii_host(host: str) -> str | None:
    """``host`` as sent on the wire (IDNA/punycode), or ``None`` when it is not valid."""
    try:
        ipaddress.ip_address(host)
        return host
    except ValueError:
        pass
    try:
        return idna.encode(host.rstrip("."), uts46=True).decode("ascii")
    except (idna.IDNAError, UnicodeError, ValueError):
        return None


def url_refusal(
    url: str,
    *,
    allow_private: bool,
    resolve: Resolver = socket.getaddrinfo,
    timeout: float = DNS_TIMEOUT_SECONDS,
) -> str | None:
    """Why ``url`` may not be called, or ``None`` when it may."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        return f"is not a valid URL: {exc}"
    refusal = _shape_refusal(parts)
    if refusal is not None or allow_private:
        return refusal
    host = ascii_host(parts.hostname or "") or ""
    refusal, _ = _addresses(host, port or _SCHEMES[parts.scheme], resolve, False, timeout)
    return refusal


def _shape_refusal(parts: SplitResult) -> str | None:
    if parts.scheme not in _SCHEMES:
        return "must be an http or https URL"
    if not parts.hostname:
        return "has no host"
    if parts.username or parts.password:
        return "must not carry credentials"
    if ascii_host(parts.hostname) is None:
        return f"has an invalid host name {parts.hostname!r}"
    return None


def _resolve(host: str, port: int, resolve: Resolver, timeout: float) -> list[tuple[Any, ...]]:
    """``resolve`` on a daemon thread of its own, abandoned after ``timeout`` (a hung
    lookup then neither holds the caller nor blocks the process from exiting)."""
    outcome: list[Any] = []
    done = threading.Event()

    def lookup() -> None:
        try:
            outcome.append(resolve(host, port, type=socket.SOCK_STREAM))
        except BaseException as exc:  # handed to the caller below
            outcome.append(exc)
        finally:
            done.set()

    threading.Thread(target=lookup, name="tollway-dns", daemon=True).start()
    if not done.wait(max(timeout, 0.001)):
        raise ResolveTimeout
    if isinstance(outcome[0], BaseException):
        raise outcome[0]
    result: list[tuple[Any, ...]] = outcome[0]
    return result


def _addresses(
    host: str, port: int, resolve: Resolver, allow_private: bool, timeout: float
) -> tuple[str | None, list[Address]]:
    """(why not, the addresses to connect to, in the resolver's order)."""
    try:
        infos = _resolve(host, port, resolve, min(timeout, DNS_TIMEOUT_SECONDS))
    except ResolveTimeout:
        return f"host {host!r} did not resolve in time", []
    except (OSError, UnicodeError):
        infos = []
    found: list[Address] = []
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if not allow_private and not is_public(address):
            return f"host {host!r} resolves to {address}, a private or loopback address", []
        if address not in found:
            found.append(address)
    if not found:
        return f"host {host!r} does not resolve", []
    return None, found


def _host_header(parts: SplitResult, host: str) -> str:
    shown = f"[{host}]" if ":" in host else host
    return shown if parts.port is None else f"{shown}:{parts.port}"


def post(
    client: httpx.Client,
    url: str,
    *,
    allow_private: bool,
    content: bytes,
    headers: dict[str, str],
    resolve: Resolver = socket.getaddrinfo,
    deadline_seconds: float = DEFAULT_DEADLINE_SECONDS,
) -> Reply:
    """POST to ``url`` through an address checked just now, trying each in turn,
    all within ``deadline_seconds``.

    Raises :class:`Refused` when the URL may not be called, or httpx's errors.
    """
    deadline = time.monotonic() + deadline_seconds
    refusal = url_refusal(url, allow_private=True)
    if refusal is not None:
        raise Refused(f"the URL {refusal}")
    parts = urlsplit(url)
    host = ascii_host(parts.hostname or "") or ""
    port = parts.port or _SCHEMES[parts.scheme]
    refusal, addresses = _addresses(host, port, resolve, allow_private, deadline_seconds)
    if refusal is not None:
        raise Refused(f"the URL {refusal}")
    extensions = {"sni_hostname": host} if parts.scheme == "https" else {}
    pinned_headers = {"accept-encoding": "identity", **headers, "host": _host_header(parts, host)}
    last: httpx.ConnectError | None = None
    for address in addresses:
        literal = f"[{address}]" if address.version == 6 else str(address)
        target = parts._replace(netloc=f"{literal}:{port}").geturl()
        try:
            return _exchange(
                client,
                target=target,
                content=content,
                headers=pinned_headers,
                extensions=extensions,
                deadline=deadline,
            )
        except httpx.ConnectError as exc:
            last = exc
    assert last is not None
    raise last


def _exchange(
    client: httpx.Client,
    *,
    target: str,
    content: bytes,
    headers: dict[str, str],
    extensions: dict[str, str],
    deadline: float,
) -> Reply:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise httpx.TimeoutException("the request deadline passed")
    timeout = httpx.Timeout(remaining, connect=min(remaining, 5.0))
    request = client.build_request(
        "POST", target, content=content, headers=headers, extensions=extensions, timeout=timeout
    )
    response = client.send(request, stream=True)
    try:
        body = bytearray()
        truncated = False
        for chunk in response.iter_raw():
            body.extend(chunk)
            if len(body) >= MAX_RESPONSE_BYTES:
                truncated = len(body) > MAX_RESPONSE_BYTES or _more(response)
                break
            if time.monotonic() > deadline:
                truncated = True
                break
        return Reply(response.status_code, bytes(body[:MAX_RESPONSE_BYTES]), truncated)
    finally:
        response.close()


def _more(response: httpx.Response) -> bool:
    length = response.headers.get("content-length")
    return length is None or not length.isdigit() or int(length) > MAX_RESPONSE_BYTES


def http_client(timeout_seconds: float) -> httpx.Client:
    """A client with a timeout on every phase, no redirects, no proxies from the env."""
    return httpx.Client(
        timeout=httpx.Timeout(timeout_seconds, connect=min(timeout_seconds, 5.0)),
        follow_redirects=False,
        trust_env=False,
        headers={"user-agent": "Tollway-Webhooks/1"},
    )
