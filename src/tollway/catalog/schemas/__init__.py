"""Input and output shapes of the catalog, one module per resource.

Input shapes refuse unknown fields. Amounts are integer minor units; unit prices
and percentages are exact decimals given as strings.
"""

from tollway.catalog.schemas.addons import AddOnCreate, AddOnInterval, AddOnOut
from tollway.catalog.schemas.coupons import CouponCreate, CouponDuration, CouponOut
from tollway.catalog.schemas.metrics import Aggregation, MetricCreate, MetricOut, PropertyName
from tollway.catalog.schemas.plans import (
    DEFAULT_THRESHOLDS,
    UNLIMITED,
    Charges,
    Description,
    Enforcement,
    FeatureKey,
    Features,
    Interval,
    MinimumOut,
    Minimums,
    MinimumSpec,
    PlanCreate,
    PlanOut,
    PlanUpdate,
    PriceOut,
    Prices,
    PriceSpec,
    QuotaPeriod,
    Quotas,
    QuotaSpec,
    snapshot,
)

__all__ = [
    "DEFAULT_THRESHOLDS",
    "UNLIMITED",
    "AddOnCreate",
    "AddOnInterval",
    "AddOnOut",
    "Aggregation",
    "Charges",
    "CouponCreate",
    "CouponDuration",
    "CouponOut",
    "Description",
    "Enforcement",
    "FeatureKey",
    "Features",
    "Interval",
    "MetricCreate",
    "MetricOut",
    "MinimumOut",
    "MinimumSpec",
    "Minimums",
    "PlanCreate",
    "PlanOut",
    "PlanUpdate",
    "PriceOut",
    "PriceSpec",
    "Prices",
    "PropertyName",
    "QuotaPeriod",
    "QuotaSpec",
    "Quotas",
    "snapshot",
]
