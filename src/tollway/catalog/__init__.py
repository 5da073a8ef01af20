"""The catalog: plans, billable metrics, add-ons, coupons and ``.product`` imports."""

from tollway.catalog.charges import ChargeSpec, Tier
from tollway.catalog.models import AddOn, BillableMetric, Coupon, Plan
from tollway.catalog.pricing import Priced, PriceLine, charges_in, minimum_top_up, price
from tollway.catalog.schemas import (
    UNLIMITED,
    AddOnCreate,
    AddOnOut,
    CouponCreate,
    CouponOut,
    MetricCreate,
    MetricOut,
    PlanCreate,
    PlanOut,
    PlanUpdate,
    PriceSpec,
    QuotaSpec,
)
from tollway.catalog.service.addons import create_addon, get_addon, list_addons
from tollway.catalog.service.coupons import create_coupon, get_coupon, list_coupons
from tollway.catalog.service.metrics import (
    create_metric,
    find_metrics,
    get_metric,
    list_metrics,
)
from tollway.catalog.service.plans import (
    archive_plan,
    create_plan,
    default_plan,
    get_plan,
    list_plans,
    update_plan,
)
from tollway.catalog.service.product_import import ImportResult, import_product_file

__all__ = [
    "UNLIMITED",
    "AddOn",
    "AddOnCreate",
    "AddOnOut",
    "BillableMetric",
    "ChargeSpec",
    "Coupon",
    "CouponCreate",
    "CouponOut",
    "ImportResult",
    "MetricCreate",
    "MetricOut",
    "Plan",
    "PlanCreate",
    "PlanOut",
    "PlanUpdate",
    "PriceLine",
    "PriceSpec",
    "Priced",
    "QuotaSpec",
    "Tier",
    "archive_plan",
    "charges_in",
    "create_addon",
    "create_coupon",
    "create_metric",
    "create_plan",
    "default_plan",
    "find_metrics",
    "get_addon",
    "get_coupon",
    "get_metric",
    "get_plan",
    "import_product_file",
    "list_addons",
    "list_coupons",
    "list_metrics",
    "list_plans",
    "minimum_top_up",
    "price",
    "update_plan",
]
