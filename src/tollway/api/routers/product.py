"""``/v1/product``: the caller's product, its branding and per-domain settings."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ValidationError

from tollway import (
    dunning,
    invoicing,
    ledger,
    metering,
    notifications,
    payments,
    quotas,
    subscriptions,
)
from tollway.api.deps import Ctx
from tollway.api.routing import resource_router
from tollway.kernel.access import require_full_access
from tollway.kernel.errors import FieldError, ValidationFailed
from tollway.kernel.tenancy import (
    GENERAL,
    GeneralSettings,
    Product,
    product_by_id,
    read_settings,
    write_settings,
)

router = resource_router("product")

SETTINGS_SECTIONS: dict[str, type[BaseModel]] = {
    GENERAL: GeneralSettings,
    subscriptions.SECTION: subscriptions.SubscriptionSettings,
    metering.SETTINGS_SECTION: metering.MeteringSettings,
    notifications.SETTINGS_SECTION: notifications.NotificationSettings,
    quotas.SECTION: quotas.QuotasSettings,
    ledger.SECTION: ledger.CreditsSettings,
    invoicing.SECTION: invoicing.InvoicingSettings,
    payments.SECTION: payments.PaymentsSettings,
    dunning.SECTION: dunning.DunningSettings,
}
"""Each domain's settings model, by section name. Domains add theirs here."""


class ProductOut(BaseModel):
    id: str
    code: str
    name: str
    company: str | None
    branding: dict[str, Any]
    reseller: dict[str, Any]
    settings: dict[str, dict[str, Any]]
    created_at: datetime
    updated_at: datetime


def _out(ctx: Ctx, product: Product) -> ProductOut:
    settings = {
        name: read_settings(ctx, name, model).model_dump(mode="json")
        for name, model in SETTINGS_SECTIONS.items()
    }
    return ProductOut(
        id=product.id,
        code=product.code,
        name=product.name,
        company=product.company,
        branding=product.branding,
        reseller=product.reseller,
        settings=settings,
        created_at=product.created_at,
        updated_at=product.updated_at,
    )


@router.get("/product")
def get_product(ctx: Ctx) -> ProductOut:
    """The product of the calling key, with every settings section and its defaults."""
    require_full_access(ctx, "read the product's settings")
    return _out(ctx, product_by_id(ctx.session, ctx.product_id))


@router.patch("/product/settings")
def update_settings(ctx: Ctx, body: dict[str, dict[str, Any]]) -> ProductOut:
    """Change some settings: ``{"section": {"field": value}}``; other fields keep theirs."""
    product = product_by_id(ctx.session, ctx.product_id)
    errors: list[FieldError] = []
    sections: dict[str, BaseModel] = {}
    for name, changes in body.items():
        model = SETTINGS_SECTIONS.get(name)
        if model is None:
            errors.append(
                FieldError(name, f"unknown settings section; one of {sorted(SETTINGS_SECTIONS)}")
            )
            continue
        current = read_settings(ctx, name, model).model_dump(mode="json")
        try:
            sections[name] = model.model_validate({**current, **changes})
        except ValidationError as exc:
            errors.extend(
                FieldError(".".join([name, *map(str, e["loc"])]), e["msg"]) for e in exc.errors()
            )
    if errors:
        raise ValidationFailed(errors)
    return _out(ctx, write_settings(ctx, sections) if sections else product)
