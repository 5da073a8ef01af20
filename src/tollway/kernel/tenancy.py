"""Products: the white-label offerings that are Tollway's tenancy boundary.

Every row that belongs to a product carries ``product_id`` and every repository
filters by it. A default product exists after the first start.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict
from sqlalchemy import String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from tollway.kernel.access import require_full_access
from tollway.kernel.audit import audit
from tollway.kernel.clock import Clock
from tollway.kernel.context import Context
from tollway.kernel.db import Base
from tollway.kernel.errors import NotFound
from tollway.kernel.ids import new_id
from tollway.kernel.outbox import record_event
from tollway.kernel.validation import Currency


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


SectionT = TypeVar("SectionT", bound=BaseModel)

GENERAL = "general"


class GeneralSettings(BaseModel):
    """Product-wide settings: the currency plans and new customers default to."""

    model_config = ConfigDict(extra="forbid")

    currency: Currency = "USD"


def read_settings(ctx: Context, section: str, model: type[SectionT]) -> SectionT:
    """The product's settings for one domain, defaults filled in by ``model``.

    Each domain owns a section of ``Product.settings`` (``"subscriptions"``,
    ``"metering"``, ...) and a Pydantic model with a default for every field, so
    a product that never configured anything behaves as documented.
    """
    return settings_section(product_by_id(ctx.session, ctx.product_id).settings, section, model)


def settings_section(settings: dict[str, Any], section: str, model: type[SectionT]) -> SectionT:
    """One section of a product's stored ``settings``, defaults filled in by ``model``
    (for a caller that read the settings column along with other rows)."""
    stored = settings.get(section, {})
    # Keys this version does not know (written by a newer one) are ignored on read,
    # so a rollback never breaks reads; input is still checked strictly on write.
    return model.model_validate({k: v for k, v in stored.items() if k in model.model_fields})


def product_currency(ctx: Context) -> str:
    """The currency plans and new customers of the product default to."""
    return read_settings(ctx, GENERAL, GeneralSettings).currency


def write_settings(ctx: Context, sections: dict[str, BaseModel]) -> Product:
    """Replace the given sections of the product's settings (already validated)."""
    require_full_access(ctx, "change product settings")
    product = product_by_id(ctx.session, ctx.product_id)
    merged = dict(product.settings)
    for section, value in sections.items():
        merged[section] = value.model_dump(mode="json")
    if merged != product.settings:
        previous = {k: product.settings.get(k) for k in sections}
        product.settings = merged
        product.updated_at = ctx.now()
        audit(
            ctx,
            "product.settings.update",
            subject_type="product",
            subject_id=product.id,
            before=previous,
            after={k: merged[k] for k in sections},
        )
        record_event(
            ctx,
            "product.updated",
            {"settings": merged, "previous_attributes": {"settings": previous}},
        )
    return product
