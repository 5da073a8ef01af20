"""Add-on use cases: create, read, list."""

from __future__ import annotations

from tollway.catalog import events
from tollway.catalog.models import AddOn
from tollway.catalog.repository import AddOnRepository
from tollway.catalog.schemas import AddOnCreate, AddOnOut, snapshot
from tollway.catalog.service.common import require_catalog_write
from tollway.kernel.context import Context
from tollway.kernel.errors import AlreadyExists, NotFound
from tollway.kernel.ids import new_id
from tollway.kernel.outbox import record_event
from tollway.kernel.pagination import Page, PageRequest
from tollway.kernel.tenancy import product_currency


def create_addon(ctx: Context, data: AddOnCreate) -> AddOn:
    """Create an add-on; its ``code`` must be new in the product."""
    require_catalog_write(ctx)
    repo = AddOnRepository(ctx)
    if repo.by_code(data.code) is not None:
        raise AlreadyExists(f"add-on {data.code!r} already exists", param="code")
    now = ctx.now()
    addon = AddOn(
        id=new_id("addon"),
        product_id=ctx.product_id,
        code=data.code,
        name=data.name,
        description=data.description,
        category=data.category,
        amount=data.amount,
        currency=data.currency or product_currency(ctx),
        interval=data.interval,
        active=data.active,
        created_at=now,
        updated_at=now,
    )
    repo.add(addon)
    record_event(ctx, events.ADDON_CREATED, snapshot(AddOnOut.of(addon)))
    return addon


def get_addon(ctx: Context, code: str) -> AddOn:
    """The add-on with ``code``; 404 when absent."""
    addon = AddOnRepository(ctx).by_code(code)
    if addon is None:
        raise NotFound(f"add-on {code!r} not found", param="code")
    return addon


def list_addons(ctx: Context, page: PageRequest) -> Page[AddOn]:
    """Add-ons of the product, newest first."""
    return AddOnRepository(ctx).list(page)
