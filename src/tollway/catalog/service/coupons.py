"""Coupon use cases: create, read, list."""

from __future__ import annotations

from tollway.catalog import events
from tollway.catalog.models import Coupon
from tollway.catalog.repository import CouponRepository, PlanRepository
from tollway.catalog.schemas import CouponCreate, CouponOut, snapshot
from tollway.catalog.service.common import require_catalog_write
from tollway.kernel.access import require_full_access
from tollway.kernel.clock import ensure_utc
from tollway.kernel.context import Context
from tollway.kernel.errors import AlreadyExists, FieldError, NotFound, ValidationFailed
from tollway.kernel.ids import new_id
from tollway.kernel.outbox import record_event
from tollway.kernel.pagination import Page, PageRequest


def create_coupon(ctx: Context, data: CouponCreate) -> Coupon:
    """Create a coupon; its ``code`` must be new, ``expires_at`` in the future and every
    plan in ``plan_codes`` must exist (archived plans count)."""
    require_catalog_write(ctx)
    repo = CouponRepository(ctx)
    if repo.by_code(data.code) is not None:
        raise AlreadyExists(f"coupon {data.code!r} already exists", param="code")
    now = ctx.now()
    expires_at = ensure_utc(data.expires_at) if data.expires_at is not None else None
    errors = []
    if expires_at is not None and expires_at <= now:
        errors.append(FieldError("expires_at", "must be in the future"))
    plans = PlanRepository(ctx).by_codes(data.plan_codes)
    errors += [
        FieldError(f"plan_codes[{index}]", f"unknown plan {code!r}")
        for index, code in enumerate(data.plan_codes)
        if code not in plans
    ]
    if errors:
        raise ValidationFailed(errors)
    coupon = Coupon(
        id=new_id("coupon"),
        product_id=ctx.product_id,
        code=data.code,
        name=data.name,
        percent_off=data.percent_off,
        amount_off=data.amount_off,
        currency=data.currency,
        duration=data.duration,
        duration_months=data.duration_months,
        max_redemptions=data.max_redemptions,
        times_redeemed=0,
        expires_at=expires_at,
        plan_codes=list(data.plan_codes),
        active=True,
        created_at=now,
        updated_at=now,
    )
    repo.add(coupon)
    record_event(ctx, events.COUPON_CREATED, snapshot(CouponOut.of(coupon)))
    return coupon


def get_coupon(ctx: Context, code: str) -> Coupon:
    """The coupon with ``code``; 404 when absent."""
    coupon = CouponRepository(ctx).by_code(code)
    if coupon is None:
        raise NotFound(f"coupon {code!r} not found", param="code")
    return coupon


def list_coupons(ctx: Context, page: PageRequest) -> Page[Coupon]:
    """Coupons of the product, newest first (not to customer keys: codes are offers)."""
    require_full_access(ctx, "list coupons")
    return CouponRepository(ctx).list(page)
