"""The address policy: special-purpose blocks refused, also when embedded in IPv6."""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

import pytest

from tollway.kernel.addresses import is_public
from tollway.kernel.outbound import url_refusal


def resolver(address: str) -> Any:
    def resolve(host: str, port: int, **_: Any) -> list[tuple[Any, ...]]:
        return [(socket.AF_INET6, socket.SOCK_STREAM, 6, "", (address, port))]

    return resolve


@pytest.mark.parametrize(
    "address",
    [
        "0.0.0.0",  # noqa: S104 (an address to refuse, not one to bind)
        "100.100.100.200",
        "192.0.0.192",  # is_global says public on Python 3.11.7
        "192.0.0.1",
        "192.0.2.1",
        "192.88.99.1",
        "198.18.0.1",
        "198.51.100.1",
        "203.0.113.1",
        "240.0.0.1",
        "255.255.255.255",
        "::",
        "::1",
        "::ffff:127.0.0.1",
        "::127.0.0.1",  # IPv4-compatible
        "::a9fe:a9fe",
        "::ffff:0:7f00:1",  # IPv4-translated
        "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
        "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
        "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
        "64:ff9b:1::a00:1",  # local-use NAT64
        "2002:7f00:1::1",  # 6to4 of 127.0.0.1
        "2002:a9fe:a9fe::1",  # 6to4 of 169.254.169.254
        "2001:0:4136:e378:8000:63bf:3fff:fdd2",  # Teredo
        "2001:db8::1",
        "fec0::1",
        "100::1",
        "fd00:ec2::254",
        "5f00::1",
        "ff02::1",
    ],
)
def test_special_purpose_and_embedded_private_addresses_are_refused(address: str) -> None:
    assert not is_public(ipaddress.ip_address(address))
    reason = url_refusal("https://h.example.com/", allow_private=False, resolve=resolver(address))
    assert reason is not None
    assert "a private or loopback address" in reason


@pytest.mark.parametrize(
    "address",
    [
        "93.184.215.14",
        "168.63.129.16",
        "2606:2800:220:1::1",
        "64:ff9b::808:808",  # NAT64 of a public address
        "2002:808:808::1",  # 6to4 of a public address
        "::ffff:8.8.8.8",
        "2001:4:112::1",  # AS112-v6, a documented global block inside 2001::/23
    ],
)
def test_public_addresses_pass(address: str) -> None:
    assert is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "url",
    [
        "http://[::127.0.0.1]/",
        "http://[64:ff9b::a9fe:a9fe]/",
        "http://[::ffff:7f00:1]/",
        "http://[fe80::1%25eth0]/",
        "http://2130706433/",
        "http://0x7f000001/",
        "http://127.1/",
        "http://localhost./",
    ],
)
def test_literal_and_odd_spellings_of_private_hosts_are_refused(url: str) -> None:
    reason = url_refusal(url, allow_private=False)
    assert reason is not None
