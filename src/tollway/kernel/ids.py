"""Prefixed, time-ordered identifiers (``cus_01J...``) that sort in creation order."""

from __future__ import annotations

import os
import threading
import time
from datetime import UTC, datetime, timedelta

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford base32, lower case


class _Stamps:
    """Strictly increasing microsecond stamps, safe across threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last = 0

    def take(self, count: int) -> int:
        """Reserve ``count`` consecutive stamps; returns the first."""
        with self._lock:
            first = max(time.time_ns() // 1000, self._last + 1)
            self._last = first + count - 1
            return first


_stamps = _Stamps()


_PAIRS = [high + low for high in _ALPHABET for low in _ALPHABET]
"""Every two-character string, at the 10-bit value it encodes."""


def _encode(value: int) -> str:
    """The low 50 bits of ``value`` in 10 characters."""
    pairs = _PAIRS
    return (
        pairs[value >> 40 & 1023]
        + pairs[value >> 30 & 1023]
        + pairs[value >> 20 & 1023]
        + pairs[value >> 10 & 1023]
        + pairs[value & 1023]
    )


def new_id(prefix: str) -> str:
    """A new id: ``prefix_`` + 10 chars of microsecond time + 10 random chars.

    Ids made by one process are strictly increasing, so ``ORDER BY id`` is creation
    order and cursor pagination needs no second column. The time part is the wall
    clock on purpose: ids order writes, they do not carry domain time.
    """
    return new_ids(prefix, 1)[0]


def new_ids(prefix: str, count: int) -> list[str]:
    """``count`` new ids at once, in increasing order: :func:`new_id`'s, with one
    reservation of stamps and one read of random bytes for all of them."""
    first = _stamps.take(count)
    noise = os.urandom(7 * count)
    return [
        f"{prefix}_{_encode(first + i)}{_encode(int.from_bytes(noise[7 * i : 7 * i + 7]))}"
        for i in range(count)
    ]


def time_floor(prefix: str, at: datetime) -> str:
    """The smallest id ``prefix`` could have been given at or after ``at``: every id
    made earlier sorts below it, every id made later sorts above it."""
    micros = (at - _EPOCH) // timedelta(microseconds=1)
    return f"{prefix}_{_encode(micros)}"
