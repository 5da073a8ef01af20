"""Issuing API keys and turning a bearer token into a :class:`Principal`."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from tollway.auth.models import ApiKey
from tollway.kernel.access import require_full_access
from tollway.kernel.audit import audit
from tollway.kernel.context import Context
from tollway.kernel.errors import Unauthorized
from tollway.kernel.ids import new_id

ENV_KEY_ID = "env"


@dataclass(frozen=True)
class Principal:
    """The authenticated caller: a product, and a customer when the key is scoped."""

    product_id: str
    key_id: str
    customer_id: str | None = None

    @property
    def actor(self) -> str:
        return f"api_key:{self.key_id}"


@dataclass(frozen=True)
class IssuedKey:
    """A new key: the stored record and the plaintext, shown exactly once."""

    record: ApiKey
    secret: str


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _issue(ctx: Context, *, name: str, prefix: str, customer_id: str | None) -> IssuedKey:
    secret = f"{prefix}_{secrets.token_urlsafe(32)}"
    record = ApiKey(
        id=new_id("key"),
        product_id=ctx.product_id,
        customer_id=customer_id,
        name=name,
        prefix=secret[:12],
        key_hash=_hash(secret),
        created_at=ctx.now(),
        revoked_at=None,
    )
    ctx.session.add(record)
    audit(
        ctx,
        "api_key.create",
        subject_type="api_key",
        subject_id=record.id,
        before=None,
        after={"name": name, "prefix": record.prefix, "customer_id": customer_id},
        customer_id=customer_id,
    )
    return IssuedKey(record, secret)


def create_secret_key(ctx: Context, *, name: str) -> IssuedKey:
    """A secret key acting on everything in the product."""
    require_full_access(ctx, "create secret keys")
    return _issue(ctx, name=name, prefix="sk", customer_id=None)


def create_customer_key(ctx: Context, *, customer_id: str, name: str) -> IssuedKey:
    """A key that reaches only the customer with internal id ``customer_id``."""
    require_full_access(ctx, "create keys")
    return _issue(ctx, name=name, prefix="ck", customer_id=customer_id)


def has_secret_keys(session: Session, product_id: str) -> bool:
    """Whether the product has any active secret key."""
    return (
        session.scalar(
            select(ApiKey.id)
            .where(
                ApiKey.product_id == product_id,
                ApiKey.customer_id.is_(None),
                ApiKey.revoked_at.is_(None),
            )
            .limit(1)
        )
        is not None
    )


def env_principal(token: str, *, env_key: str | None, default_product_id: str) -> Principal | None:
    """The principal of the environment's key when ``token`` is it (no database read),
    else ``None``."""
    if env_key and hmac.compare_digest(token.encode(), env_key.encode()):
        return Principal(product_id=default_product_id, key_id=ENV_KEY_ID)
    return None


def authenticate(
    session: Session, token: str | None, *, env_key: str | None, default_product_id: str
) -> Principal:
    """The principal for a bearer ``token`` or :class:`Unauthorized`."""
    if not token:
        raise Unauthorized("missing API key; send 'Authorization: Bearer <key>'")
    principal = env_principal(token, env_key=env_key, default_product_id=default_product_id)
    if principal is not None:
        return principal
    record = session.scalar(
        select(ApiKey).where(ApiKey.key_hash == _hash(token), ApiKey.revoked_at.is_(None))
    )
    if record is None:
        raise Unauthorized("invalid API key")
    return Principal(product_id=record.product_id, key_id=record.id, customer_id=record.customer_id)
