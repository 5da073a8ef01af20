"""Products: the white-label offerings that are Tollway's tenancy boundary.

Every row that belongs to a product carries ``product_id`` and every repository
filters by it. A default product exists after the first start.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from tollway.kernel.clock import Clock
from tollway.kernel.db import Base
from tollway.kernel.errors import NotFound
from tollway.kernel.ids import new_id


class Product(Base):
    """A white-label offering with its own catalog, branding, settings and numbering."""

    __tablename__ = "products"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    company: Mapped[str | None] = mapped_column(String(200))
    branding: Mapped[dict[str, Any]] = mapped_column(default=dict)
    reseller: Mapped[dict[str, Any]] = mapped_column(default=dict)
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


def ensure_product(session: Session, *, code: str, name: str, clock: Clock) -> Product:
    """The product ``code``, created if missing. Safe to call on every start."""
    found = session.scalar(select(Product).where(Product.code == code))
    if found is not None:
        return found
    now = clock.now()
    product = Product(
        id=new_id("prod"),
        code=code,
        name=name,
        company=None,
        branding={},
        reseller={},
        settings={},
        created_at=now,
        updated_at=now,
    )
    session.add(product)
    session.flush()
    return product


def product_by_code(session: Session, code: str) -> Product:
    """The product with ``code`` or :class:`NotFound`."""
    found = session.scalar(select(Product).where(Product.code == code))
    if found is None:
        raise NotFound(f"product {code!r} not found", param="product")
    return found


def product_by_id(session: Session, product_id: str) -> Product:
    """The product with ``product_id`` (it must exist: ids come from trusted rows)."""
    return session.get_one(Product, product_id)
