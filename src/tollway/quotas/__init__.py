"""Quotas: limits on metrics per period, atomic check-and-consume, threshold alerts,
grace periods and suspension."""

from tollway.quotas.errors import CustomerSuspended, QuotaExceeded
from tollway.quotas.schemas import (
    CheckOut,
    GracePeriodOut,
    OverrideOut,
    QuotaCheckIn,
    QuotaConsumeIn,
    QuotaOverrideIn,
    QuotasOut,
    QuotasSettings,
    QuotaStatusOut,
    ReinstateIn,
)
from tollway.quotas.service.admin import (
    CustomerQuotas,
    GracePeriod,
    customer_quotas,
    evaluate_stale,
    grace_period,
    is_suspended,
    lift_suspension,
    reinstate,
    remove_override,
    set_override,
    suspend_customer,
    usage_arriving,
)
from tollway.quotas.service.core import SECTION, quota_settings
from tollway.quotas.service.enforce import Decision, check, consume

__all__ = [
    "SECTION",
    "CheckOut",
    "CustomerQuotas",
    "CustomerSuspended",
    "Decision",
    "GracePeriod",
    "GracePeriodOut",
    "OverrideOut",
    "QuotaCheckIn",
    "QuotaConsumeIn",
    "QuotaExceeded",
    "QuotaOverrideIn",
    "QuotaStatusOut",
    "QuotasOut",
    "QuotasSettings",
    "ReinstateIn",
    "check",
    "consume",
    "customer_quotas",
    "evaluate_stale",
    "grace_period",
    "is_suspended",
    "lift_suspension",
    "quota_settings",
    "reinstate",
    "remove_override",
    "set_override",
    "suspend_customer",
    "usage_arriving",
]
