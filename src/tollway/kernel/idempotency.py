"""Stored responses of POST requests sent with an ``Idempotency-Key``.

The key row is written in the same transaction as the request's effects, so a
key is either absent (nothing happened) or present with the response to replay.
Keys belong to the API key that sent them: another caller's key of the same name
is a different key, and can neither replay nor block it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ForeignKey, LargeBinary, String, UniqueConstraint, delete, select, text
from sqlalchemy.orm import Mapped, Session, mapped_column

from tollway.kernel.db import Base
from tollway.kernel.errors import IdempotencyKeyReused
from tollway.kernel.ids import new_id


class IdempotencyRecord(Base):
    """The first response given to a (product, key) pair."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("product_id", "api_key_id", "key"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    product_id: Mapped[str] = mapped_column(ForeignKey("products.id"))
    api_key_id: Mapped[str] = mapped_column(String(40))
    key: Mapped[str] = mapped_column(String(255))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int]
    content_type: Mapped[str] = mapped_column(String(100))
    body: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime]


@dataclass(frozen=True)
class StoredResponse:
    """A response to replay."""

    status_code: int
    content_type: str
    body: bytes


def request_fingerprint(method: str, path: str, body: bytes) -> str:
    """What makes two requests "the same" for a key: method, path and exact body."""
    digest = hashlib.sha256()
    for part in (method.encode(), b"\0", path.encode(), b"\0", body):
        digest.update(part)
    return digest.hexdigest()


@dataclass(frozen=True)
class KeyScope:
    """Whose key it is: the product and the API key that sent it."""

    product_id: str
    api_key_id: str
    key: str


def lock_key(session: Session, scope: KeyScope) -> None:
    """Serialize requests that share a key until the first one's transaction ends.

    PostgreSQL takes a transaction-scoped advisory lock; SQLite transactions are
    already serialized (they begin IMMEDIATE).
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    digest = hashlib.sha256(
        f"{scope.product_id}\0{scope.api_key_id}\0{scope.key}".encode()
    ).digest()
    session.execute(
        text("SELECT pg_advisory_xact_lock(:id)"),
        {"id": int.from_bytes(digest[:8], "big", signed=True)},
    )


def find_response(session: Session, scope: KeyScope, fingerprint: str) -> StoredResponse | None:
    """The stored response for ``key``; 409 if the key was used for another request."""
    record = session.scalar(
        select(IdempotencyRecord).where(
            IdempotencyRecord.product_id == scope.product_id,
            IdempotencyRecord.api_key_id == scope.api_key_id,
            IdempotencyRecord.key == scope.key,
        )
    )
    if record is None:
        return None
    if record.request_hash != fingerprint:
        raise IdempotencyKeyReused(
            f"Idempotency-Key {scope.key!r} was already used with a different request",
            param="Idempotency-Key",
        )
    return StoredResponse(record.status_code, record.content_type, record.body)


def save_response(
    session: Session, scope: KeyScope, fingerprint: str, response: StoredResponse, now: datetime
) -> None:
    """Remember ``response`` for the scoped key in the current transaction."""
    session.add(
        IdempotencyRecord(
            id=new_id("idk"),
            product_id=scope.product_id,
            api_key_id=scope.api_key_id,
            key=scope.key,
            request_hash=fingerprint,
            status_code=response.status_code,
            content_type=response.content_type,
            body=response.body,
            created_at=now,
        )
    )


def purge_before(session: Session, cutoff: datetime) -> int:
    """Forget keys older than ``cutoff``; returns how many."""
    result = session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.created_at < cutoff))
    return int(getattr(result, "rowcount", 0) or 0)
