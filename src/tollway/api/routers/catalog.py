"""The catalog: ``/v1/plans``, ``/v1/metrics``, ``/v1/addons``, ``/v1/coupons`` and
``/v1/catalog/import``. Every key may read; writes need a secret key."""

from __future__ import annotations

from typing import Annotated

from fastapi import HTTPException, Path, Query, Request
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from tollway import catalog
from tollway.api.deps import Ctx, PageDep
from tollway.api.routing import resource_router
from tollway.api.schemas import ListOut
from tollway.kernel.errors import ValidationFailed

router = resource_router("catalog")
CodePath = Annotated[str, Path(max_length=100)]

YAML_MEDIA_TYPES = frozenset({"application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml"})
MAX_IMPORT_BYTES = 1_000_000


@router.post("/plans", status_code=201)
def create_plan(ctx: Ctx, body: catalog.PlanCreate) -> catalog.PlanOut:
    """Create a plan; quotas and charges must name existing metrics."""
    return catalog.PlanOut.of(catalog.create_plan(ctx, body))


@router.get("/plans")
def list_plans(
    ctx: Ctx,
    page: PageDep,
    active: Annotated[
        bool | None, Query(description="Only active, or only archived, plans.")
    ] = None,
) -> ListOut[catalog.PlanOut]:
    """Plans, newest first, archived ones included unless ``active`` says otherwise."""
    return ListOut.of(catalog.list_plans(ctx, page, active=active), catalog.PlanOut.of)


@router.get("/plans/{code}")
def get_plan(ctx: Ctx, code: CodePath) -> catalog.PlanOut:
    """One plan by its code, archived or not."""
    return catalog.PlanOut.of(catalog.get_plan(ctx, code))


@router.patch("/plans/{code}")
def update_plan(ctx: Ctx, code: CodePath, body: catalog.PlanUpdate) -> catalog.PlanOut:
    """Change some of a plan's fields; lists (prices, quotas, charges) are replaced whole."""
    return catalog.PlanOut.of(catalog.update_plan(ctx, code, body))


@router.delete("/plans/{code}")
def archive_plan(ctx: Ctx, code: CodePath) -> catalog.PlanOut:
    """Archive a plan: no new subscriptions; existing ones keep it. It stays readable."""
    return catalog.PlanOut.of(catalog.archive_plan(ctx, code))


@router.post("/metrics", status_code=201)
def create_metric(ctx: Ctx, body: catalog.MetricCreate) -> catalog.MetricOut:
    """Create a billable metric."""
    return catalog.MetricOut.of(catalog.create_metric(ctx, body))


@router.get("/metrics")
def list_metrics(ctx: Ctx, page: PageDep) -> ListOut[catalog.MetricOut]:
    """Billable metrics, newest first."""
    return ListOut.of(catalog.list_metrics(ctx, page), catalog.MetricOut.of)


@router.get("/metrics/{code}")
def get_metric(ctx: Ctx, code: CodePath) -> catalog.MetricOut:
    """One billable metric by its code."""
    return catalog.MetricOut.of(catalog.get_metric(ctx, code))


@router.post("/addons", status_code=201)
def create_addon(ctx: Ctx, body: catalog.AddOnCreate) -> catalog.AddOnOut:
    """Create an add-on."""
    return catalog.AddOnOut.of(catalog.create_addon(ctx, body))


@router.get("/addons")
def list_addons(ctx: Ctx, page: PageDep) -> ListOut[catalog.AddOnOut]:
    """Add-ons, newest first."""
    return ListOut.of(catalog.list_addons(ctx, page), catalog.AddOnOut.of)


@router.get("/addons/{code}")
def get_addon(ctx: Ctx, code: CodePath) -> catalog.AddOnOut:
    """One add-on by its code."""
    return catalog.AddOnOut.of(catalog.get_addon(ctx, code))


@router.post("/coupons", status_code=201)
def create_coupon(ctx: Ctx, body: catalog.CouponCreate) -> catalog.CouponOut:
    """Create a coupon."""
    return catalog.CouponOut.of(catalog.create_coupon(ctx, body))


@router.get("/coupons")
def list_coupons(ctx: Ctx, page: PageDep) -> ListOut[catalog.CouponOut]:
    """Coupons, newest first."""
    return ListOut.of(catalog.list_coupons(ctx, page), catalog.CouponOut.of)


@router.get("/coupons/{code}")
def get_coupon(ctx: Ctx, code: CodePath) -> catalog.CouponOut:
    """One coupon by its code."""
    return catalog.CouponOut.of(catalog.get_coupon(ctx, code))


class ImportOut(BaseModel):
    """What the import did, by plan code."""

    plans_created: list[str]
    plans_updated: list[str]
    plans_unchanged: list[str]
    metrics_created: list[str]
    product_updated: bool


@router.post(
    "/catalog/import",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/yaml": {"schema": {"type": "string"}}},
            "description": "A .product YAML document.",
        }
    },
)
async def import_catalog(ctx: Ctx, request: Request) -> ImportOut:
    """Load a ``.product`` YAML document (``Content-Type: application/yaml``).

    Plans are upserted by id; importing the same document again changes nothing.
    """
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type not in YAML_MEDIA_TYPES:
        raise HTTPException(
            415, f"send the .product document as application/yaml, not {media_type or 'nothing'}"
        )
    raw = await request.body()
    if len(raw) > MAX_IMPORT_BYTES:
        raise HTTPException(413, f"a .product document is at most {MAX_IMPORT_BYTES} bytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ValidationFailed.field("body", "not UTF-8 text") from None
    result = await run_in_threadpool(catalog.import_product_file, ctx, text)
    return ImportOut(**result.as_dict())
