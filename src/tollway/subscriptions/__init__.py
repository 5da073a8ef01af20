"""Subscriptions: the contract timeline of a customer and a plan.

Subscriptions do not build invoices: they record what must be billed in
``subscription_charges`` (period fees in advance, prorations, add-ons) and emit
events carrying a ``billing`` block that invoicing consumes.
"""

from tollway.subscriptions.models import (
    RetentionOffer,
    Subscription,
    SubscriptionAddOn,
    SubscriptionCharge,
)
from tollway.subscriptions.periods import add_days
from tollway.subscriptions.schemas import (
    AddOnAttach,
    ChangeOut,
    ChargeOut,
    OfferOut,
    ProrationOut,
    RetentionOut,
    SubscriptionCancel,
    SubscriptionChange,
    SubscriptionCreate,
    SubscriptionOut,
    SubscriptionPause,
    TrialExtension,
)
from tollway.subscriptions.service.addons import remove_addon, set_addon
from tollway.subscriptions.service.cancel import (
    CancelResult,
    accept_offer,
    cancel_subscription,
    cancel_unpaid,
    reactivate_subscription,
)
from tollway.subscriptions.service.change import ChangeResult, change_plan
from tollway.subscriptions.service.common import out as subscription_out
from tollway.subscriptions.service.create import create_subscription
from tollway.subscriptions.service.mirror import ExternalState, apply_external_state
from tollway.subscriptions.service.pause import pause_subscription, resume_subscription
from tollway.subscriptions.service.preview import renewal_charges
from tollway.subscriptions.service.reads import (
    charges_of,
    current_subscription,
    get_subscription,
    list_customer_subscriptions,
    mark_charges_invoiced,
    open_charges_for_update,
    paused_quota_policy,
    subscription_charges,
    subscriptions_by_id,
)
from tollway.subscriptions.service.timeline import extend_trial, mark_past_due, mark_recovered
from tollway.subscriptions.settings import (
    SECTION,
    SubscriptionSettings,
    payments_enabled,
    subscription_settings,
)
from tollway.subscriptions.states import LIVE, STATUSES

__all__ = [
    "LIVE",
    "SECTION",
    "STATUSES",
    "AddOnAttach",
    "CancelResult",
    "ChangeOut",
    "ChangeResult",
    "ChargeOut",
    "ExternalState",
    "OfferOut",
    "ProrationOut",
    "RetentionOffer",
    "RetentionOut",
    "Subscription",
    "SubscriptionAddOn",
    "SubscriptionCancel",
    "SubscriptionChange",
    "SubscriptionCharge",
    "SubscriptionCreate",
    "SubscriptionOut",
    "SubscriptionPause",
    "SubscriptionSettings",
    "TrialExtension",
    "accept_offer",
    "add_days",
    "apply_external_state",
    "cancel_subscription",
    "cancel_unpaid",
    "change_plan",
    "charges_of",
    "create_subscription",
    "current_subscription",
    "extend_trial",
    "get_subscription",
    "list_customer_subscriptions",
    "mark_charges_invoiced",
    "mark_past_due",
    "mark_recovered",
    "open_charges_for_update",
    "pause_subscription",
    "paused_quota_policy",
    "payments_enabled",
    "reactivate_subscription",
    "remove_addon",
    "renewal_charges",
    "resume_subscription",
    "set_addon",
    "subscription_charges",
    "subscription_out",
    "subscription_settings",
    "subscriptions_by_id",
]
