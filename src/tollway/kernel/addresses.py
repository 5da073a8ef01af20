"""Which IP addresses outgoing requests may connect to (pure, no I/O).

An address is public only when it is outside every special-purpose block of the
IANA IPv4 and IPv6 special-purpose registries (RFC 6890 and later) that is not
globally reachable, Python's ``is_global`` agrees, and every IPv4 address it
embeds (IPv4-mapped, NAT64 ``64:ff9b::/96``, 6to4 ``2002::/16``) is public too.
The explicit lists do not depend on the Python version: ``is_global`` has been
wrong for some blocks in some releases (``192.0.0.192`` on 3.11.7).
"""

from __future__ import annotations

import ipaddress

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

_DENIED_V4 = tuple(
    ipaddress.IPv4Network(block)
    for block in (
        "0.0.0.0/8",  # "this network"
        "10.0.0.0/8",  # private
        "100.64.0.0/10",  # shared address space (carrier-grade NAT)
        "127.0.0.0/8",  # loopback
        "169.254.0.0/16",  # link-local (cloud metadata)
        "172.16.0.0/12",  # private
        "192.0.0.0/24",  # IETF protocol assignments
        "192.0.2.0/24",  # documentation
        "192.31.196.0/24",  # AS112
        "192.52.193.0/24",  # AMT
        "192.88.99.0/24",  # 6to4 relay anycast (deprecated)
        "192.168.0.0/16",  # private
        "192.175.48.0/24",  # AS112 direct delegation
        "198.18.0.0/15",  # benchmarking
        "198.51.100.0/24",  # documentation
        "203.0.113.0/24",  # documentation
        "224.0.0.0/4",  # multicast
        "240.0.0.0/4",  # reserved, includes 255.255.255.255
    )
)

_DENIED_V6 = tuple(
    ipaddress.IPv6Network(block)
    for block in (
        "::/96",  # unspecified, loopback and IPv4-compatible (deprecated)
        "::ffff:0:0:0/96",  # IPv4-translated (SIIT)
        "64:ff9b:1::/48",  # local-use IPv4/IPv6 translation
        "100::/64",  # discard-only
        "2001::/23",  # IETF protocol assignments (Teredo, benchmarking, ORCHID ...)
        "2001:db8::/32",  # documentation
        "3fff::/20",  # documentation
        "5f00::/16",  # segment routing SIDs
        "fc00::/7",  # unique local
        "fe80::/10",  # link-local
        "fec0::/10",  # site-local (deprecated)
        "ff00::/8",  # multicast
    )
)

_GLOBAL_IN_DENIED_V6 = tuple(
    ipaddress.IPv6Network(block)
    for block in (
        "2001:1::1/128",  # port control protocol anycast
        "2001:1::2/128",  # TURN anycast
        "2001:1::3/128",  # DNS-SD service registration protocol anycast
        "2001:3::/32",  # AMT
        "2001:4:112::/48",  # AS112-v6
        "2001:20::/28",  # ORCHIDv2
        "2001:30::/28",  # drone remote ID
    )
)

_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


def embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (mapped, NAT64, 6to4), if any."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address.sixtofour


def is_public(address: Address) -> bool:
    """Whether requests may go to ``address``: globally reachable, not special-purpose."""
    if isinstance(address, ipaddress.IPv4Address):
        return address.is_global and not any(address in block for block in _DENIED_V4)
    embedded = embedded_ipv4(address)
    if address.ipv4_mapped is not None and embedded is not None:
        return is_public(embedded)  # the connection is made over IPv4
    if embedded is not None and not is_public(embedded):
        return False
    if any(address in block for block in _DENIED_V6) and not any(
        address in block for block in _GLOBAL_IN_DENIED_V6
    ):
        return False
    return address.is_global or any(address in block for block in _GLOBAL_IN_DENIED_V6)
