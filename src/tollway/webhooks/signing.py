"""Standard Webhooks, the pure parts: secrets, signatures, patterns, retry schedule."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable
from datetime import timedelta

SECRET_PREFIX = "whsec_"  # noqa: S105 (a prefix, not a secret)
SECRET_BYTES = 32
MIN_SECRET_BYTES = 24
MAX_SECRET_BYTES = 64

RETRY_SCHEDULE = (
    timedelta(0),
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=10),
)
"""Delay before attempt n (1-based: index n-1); eight attempts in all."""
MAX_ATTEMPTS = len(RETRY_SCHEDULE)
JITTER = 0.1
"""Each delay is lengthened by up to this fraction, at random."""

_PATTERN = re.compile(r"^(\*|[a-z0-9_]+(\.[a-z0-9_]+)*(\.\*)?)$")


def generate_secret() -> str:
    """``whsec_`` and the base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def secret_problem(secret: str) -> str | None:
    """Why ``secret`` is not a usable Standard Webhooks secret, or ``None``."""
    if not secret.startswith(SECRET_PREFIX):
        return f"must start with {SECRET_PREFIX!r}"
    try:
        key = base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
    except ValueError:
        return "must be whsec_ followed by base64"
    if not MIN_SECRET_BYTES <= len(key) <= MAX_SECRET_BYTES:
        return f"must encode {MIN_SECRET_BYTES} to {MAX_SECRET_BYTES} bytes"
    return None


def sign(secret: str, msg_id: str, timestamp: int, body: str) -> str:
    """``v1,<base64 HMAC-SHA256 of "id.timestamp.body">`` keyed by the decoded secret."""
    key = base64.b64decode(secret[len(SECRET_PREFIX) :])
    digest = hmac.new(key, f"{msg_id}.{timestamp}.{body}".encode(), hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signature_header(secrets_: Iterable[str], msg_id: str, timestamp: int, body: str) -> str:
    """One signature per active secret, space separated (rotation signs with both)."""
    return " ".join(sign(s, msg_id, timestamp, body) for s in secrets_)


def valid_pattern(pattern: str) -> bool:
    """``*``, an exact type (``invoice.paid``) or a prefix (``subscription.*``)."""
    return bool(_PATTERN.match(pattern))


def matches(patterns: Iterable[str], event_type: str) -> bool:
    """Whether ``event_type`` matches one of ``patterns``."""
    for pattern in patterns:
        if pattern in ("*", event_type):
            return True
        if pattern.endswith(".*") and event_type.startswith(pattern[:-1]):
            return True
    return False


def retry_delay(failed_attempts: int, fraction: float) -> timedelta | None:
    """Delay before the next attempt after ``failed_attempts`` failures, with jitter
    ``fraction`` (0 to 1 of :data:`JITTER`); ``None`` when no attempts are left."""
    if failed_attempts >= MAX_ATTEMPTS:
        return None
    base = RETRY_SCHEDULE[failed_attempts]
    return base + base * (JITTER * fraction)
