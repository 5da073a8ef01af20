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
)
from tollway.quotas.service.admin import (
    CustomerQuotas,
    GracePeriod,
    after_ingest,
    customer_quotas,
    evaluate_customer,
    grace_period,
    reinstate,
    remove_override,
    set_override,
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
    "after_ingest",
    "check",
    "consume",
    "customer_quotas",
    "evaluate_customer",
    "grace_period",
    "quota_settings",
    "reinstate",
    "remove_override",
    "set_override",
]
