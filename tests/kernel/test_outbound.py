"""Outgoing URLs: only http(s), and no private or loopback targets unless allowed."""

from __future__ import annotations

import ipaddress
import socket
import ssl
from typing import Any

import httpx
import pytest
import trustme

from outbound_kit import Receiver
from tollway.kernel.outbound import Refused, http_client, post, url_refusal


def resolver(*addresses: str) -> Any:
    def resolve(host: str, port: int, **_: Any) -> list[tuple[Any, ...]]:
        family = socket.AF_INET6
        return [(family, socket.SOCK_STREAM, 6, "", (a, port)) for a in addresses]

    return resolve


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://example.com/x", "must be an http or https URL"),
        ("file:///etc/passwd", "must be an http or https URL"),
        ("http:///nohost", "has no host"),
        ("https://user:pw@example.com/", "must not carry credentials"),
        ("http://example.com:99999/", "is not a valid URL: Port out of range 0-65535"),
    ],
)
def test_shapes_refused(url: str, reason: str) -> None:
    assert url_refusal(url, allow_private=True, resolve=resolver("93.184.215.14")) == reason


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",  # noqa: S104 (an address to refuse, not one to bind)
        "::1",
        "fd00::1",
        "fe80::1",
        "::ffff:127.0.0.1",
        "224.0.0.1",
    ],
)
def test_private_and_loopback_targets_refused(address: str) -> None:
    reason = url_refusal(
        "https://hooks.example.com/x", allow_private=False, resolve=resolver(address)
    )
    shown = ipaddress.ip_address(address)
    assert reason == f"host 'hooks.example.com' resolves to {shown}, a private or loopback address"


def test_one_private_address_among_public_ones_is_enough_to_refuse() -> None:
    reason = url_refusal(
        "https://hooks.example.com/x",
        allow_private=False,
        resolve=resolver("93.184.215.14", "10.0.0.7"),
    )
    assert reason == "host 'hooks.example.com' resolves to 10.0.0.7, a private or loopback address"


def test_public_targets_pass() -> None:
    public = resolver("93.184.215.14", "2606:2800:220:1::1")
    assert url_refusal("https://hooks.example.com/x", allow_private=False, resolve=public) is None


def test_unresolvable_host_is_refused() -> None:
    def fail(*_: Any, **__: Any) -> list[tuple[Any, ...]]:
        raise socket.gaierror("no such host")

    assert url_refusal("https://nowhere.invalid/", allow_private=False, resolve=fail) == (
        "host 'nowhere.invalid' does not resolve"
    )


def test_real_resolution_of_localhost_is_refused_and_allowed_when_private_is_allowed() -> None:
    refused = url_refusal("http://localhost:8080/", allow_private=False)
    assert refused is not None
    assert "private or loopback" in refused
    assert url_refusal("http://localhost:8080/", allow_private=True) is None


def ipv4_resolver(*addresses: str) -> Any:
    def resolve(host: str, port: int, **_: Any) -> list[tuple[Any, ...]]:
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port)) for a in addresses]

    return resolve


def test_a_request_goes_to_the_checked_address_with_the_original_host() -> None:
    with Receiver() as receiver, http_client(5) as client:
        port = receiver.server.server_address[1]
        # hooks.example.com really resolves elsewhere: only pinning reaches the receiver
        response = post(
            client,
            f"http://hooks.example.com:{port}/hook?x=1",
            allow_private=True,
            content=b"{}",
            headers={"content-type": "application/json"},
            resolve=ipv4_resolver("127.0.0.2", "127.0.0.1"),  # the first refuses
        )
    assert response.status_code == 200
    [received] = receiver.requests
    assert received.headers["host"] == f"hooks.example.com:{port}"
    assert received.path == "/hook?x=1"


def test_a_host_rebound_to_a_private_address_is_refused_before_connecting() -> None:
    with Receiver() as receiver, http_client(5) as client:
        port = receiver.server.server_address[1]
        with pytest.raises(Refused, match=r"resolves to 127\.0\.0\.1, a private or loopback"):
            post(
                client,
                f"http://hooks.example.com:{port}/hook",
                allow_private=False,
                content=b"{}",
                headers={},
                resolve=ipv4_resolver("127.0.0.1"),
            )
        with pytest.raises(Refused, match="must be an http or https URL"):
            post(client, "gopher://x/", allow_private=True, content=b"", headers={})
    assert receiver.requests == []


def test_https_through_a_pinned_address_still_verifies_the_certificate() -> None:
    authority = trustme.CA()
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    authority.issue_cert("hooks.example.com").configure_cert(server_context)
    client_context = ssl.create_default_context()
    authority.configure_trust(client_context)
    with Receiver(tls=server_context) as receiver:
        port = receiver.server.server_address[1]
        resolve = ipv4_resolver("127.0.0.1")
        with httpx.Client(verify=client_context, timeout=5) as client:
            response = post(
                client,
                f"https://hooks.example.com:{port}/hook",
                allow_private=True,
                content=b"{}",
                headers={},
                resolve=resolve,
            )
            assert response.status_code == 200
            with pytest.raises(httpx.ConnectError, match="certificate"):
                # the certificate is not for this name: the server name is checked
                post(
                    client,
                    f"https://other.example.com:{port}/hook",
                    allow_private=True,
                    content=b"{}",
                    headers={},
                    resolve=resolve,
                )
    assert [r.headers["host"] for r in receiver.requests] == [f"hooks.example.com:{port}"]
