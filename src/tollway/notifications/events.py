"""Which events become which notifications.

Events of domains not built yet are mapped by their planned names; each is
tested by recording the event in the outbox directly.
"""

QUOTA_WARNING = "quota_warning"
QUOTA_EXCEEDED = "quota_exceeded"
PAYMENT_FAILED = "payment_failed"
PAYMENT_SUCCEEDED = "payment_succeeded"
TRIAL_ENDING = "trial_ending"
SUBSCRIPTION_EXPIRING = "subscription_expiring"
INVOICE_ISSUED = "invoice_issued"
GRACE_PERIOD_STARTED = "grace_period_started"
WEBHOOK_ENDPOINT_DISABLED = "webhook_endpoint_disabled"
DUNNING_STARTED = "dunning_started"
DUNNING_SUSPENDED = "dunning_suspended"
DUNNING_DOWNGRADED = "dunning_downgraded"
DUNNING_CANCELED = "dunning_canceled"
DUNNING_RECOVERED = "dunning_recovered"

NOTIFICATION_TYPES: dict[str, str] = {
    "quota.warning": QUOTA_WARNING,
    "quota.exceeded": QUOTA_EXCEEDED,
    "grace_period.started": GRACE_PERIOD_STARTED,
    "payment.failed": PAYMENT_FAILED,
    "payment.succeeded": PAYMENT_SUCCEEDED,
    "subscription.trial_will_end": TRIAL_ENDING,
    "subscription.expiring": SUBSCRIPTION_EXPIRING,
    "invoice.finalized": INVOICE_ISSUED,
    "invoice.issued": INVOICE_ISSUED,
    "webhook_endpoint.disabled": WEBHOOK_ENDPOINT_DISABLED,
    "dunning.started": DUNNING_STARTED,
    "dunning.suspended": DUNNING_SUSPENDED,
    "dunning.downgraded": DUNNING_DOWNGRADED,
    "dunning.canceled": DUNNING_CANCELED,
    "dunning.recovered": DUNNING_RECOVERED,
}
"""Event type -> notification type."""

ALL_TYPES = frozenset(NOTIFICATION_TYPES.values())
