"""What Stripe's events do (the object of each is ``data``).

- ``checkout.session.completed``: links the customer to its Stripe customer and
  the Stripe subscription to the customer's Tollway subscription (created from the
  checkout's plan when it has none).
- ``customer.subscription.created|updated|deleted``: mirrors status, plan (by the
  price's ``stripe_price_id``), period and ``cancel_at_period_end`` onto the
  linked subscription.
- ``invoice.paid``: records the payment and pays the customer's oldest open
  invoice (of the linked subscription when there is one).
- ``invoice.payment_failed``: records a failed attempt (``payment.failed``, with
  Stripe's own next retry; Stripe retries, Tollway does not).
- ``customer.subscription.trial_will_end``: ``subscription.trial_will_end``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from tollway.catalog import list_plans
from tollway.customers import Customer, get_customer_by_id
from tollway.invoicing import Invoice, open_invoices
from tollway.kernel.context import Context
from tollway.kernel.ids import new_id
from tollway.kernel.outbox import record_event
from tollway.kernel.pagination import MAX_LIMIT, PageRequest
from tollway.payments.models import ProviderSubscription
from tollway.payments.repository import PaymentRepository
from tollway.payments.service import outcomes
from tollway.subscriptions import (
    ExternalState,
    SubscriptionCreate,
    apply_external_state,
    create_subscription,
    current_subscription,
    get_subscription,
    subscription_out,
)
from tollway.subscriptions.events import SUBSCRIPTION_TRIAL_WILL_END

STRIPE = "stripe"
_STATUSES = {
    "trialing": "trialing",
    "active": "active",
    "past_due": "past_due",
    "unpaid": "past_due",
    "paused": "paused",
    "canceled": "canceled",
    "incomplete": "incomplete",
    "incomplete_expired": "expired",
}


def _at(value: Any) -> datetime | None:
    return datetime.fromtimestamp(int(value), UTC) if value is not None else None


def _customer(ctx: Context, stripe_customer: Any) -> tuple[Context, Customer] | None:
    """The Tollway customer (and a context in its product) of a ``cus_...``."""
    if not isinstance(stripe_customer, str):
        return None
    account = PaymentRepository(ctx).account_by_reference(STRIPE, stripe_customer)
    if account is None:
        return None
    scoped = outcomes.in_product(ctx, account.product_id)
    return scoped, get_customer_by_id(scoped, account.customer_id)


def _link(ctx: Context, subscription_id: str, reference: str) -> None:
    repo = PaymentRepository(ctx)
    if repo.link(subscription_id) is None and repo.link_by_reference(STRIPE, reference) is None:
        repo.insert_once(
            ProviderSubscription(
                id=new_id("psub"),
                product_id=ctx.product_id,
                subscription_id=subscription_id,
                provider=STRIPE,
                reference=reference,
                created_at=ctx.now(),
            )
        )


def checkout_completed(ctx: Context, session: Mapping[str, Any]) -> bool:
    account = PaymentRepository(ctx).account_by_reference(STRIPE, str(session.get("customer")))
    metadata = session.get("metadata") or {}
    customer_id = session.get("client_reference_id") or metadata.get("tollway_customer_id")
    if account is None or account.customer_id != customer_id:
        return False
    scoped = outcomes.in_product(ctx, account.product_id)
    reference = session.get("subscription")
    if not isinstance(reference, str):
        return True  # a one-off payment checkout: the customer link is all there is
    sub = current_subscription(scoped, account.customer_id)
    if sub is None:
        customer = get_customer_by_id(scoped, account.customer_id)
        sub = create_subscription(
            scoped,
            SubscriptionCreate(
                customer_id=customer.external_id,
                plan_id=metadata["tollway_plan_id"],
                billing_cycle=metadata.get("tollway_billing_cycle", "monthly"),
                trial_days=0,
                payment_method_id=f"stripe:{reference}",
            ),
        )
    _link(scoped, sub.id, reference)
    return True


def _plan_of(ctx: Context, stripe_sub: Mapping[str, Any]) -> str | None:
    items = (stripe_sub.get("items") or {}).get("data") or []
    price_id = ((items[0].get("price") or {}).get("id")) if items else None
    if price_id is None:
        return None
    plans = list_plans(ctx, PageRequest(limit=MAX_LIMIT)).data
    return next(
        (p.code for p in plans for spec in p.prices if spec.get("stripe_price_id") == price_id),
        None,
    )


def _period(stripe_sub: Mapping[str, Any], key: str) -> datetime | None:
    """Top-level before API 2025-03-31, on the items after."""
    if stripe_sub.get(key) is not None:
        return _at(stripe_sub[key])
    items = (stripe_sub.get("items") or {}).get("data") or []
    return _at(items[0].get(key)) if items else None


def subscription_changed(ctx: Context, stripe_sub: Mapping[str, Any]) -> bool:
    reference = str(stripe_sub.get("id"))
    link = PaymentRepository(ctx).link_by_reference(STRIPE, reference)
    found = _customer(ctx, stripe_sub.get("customer"))
    if link is None and found is not None:
        scoped, customer = found
        sub = current_subscription(scoped, customer.id)
        if sub is not None:
            _link(scoped, sub.id, reference)
            link = PaymentRepository(scoped).link(sub.id)
    if link is None:
        return False
    scoped = outcomes.in_product(ctx, link.product_id)
    status = _STATUSES.get(str(stripe_sub.get("status")), "active")
    state = ExternalState(
        status=status,
        plan_code=_plan_of(scoped, stripe_sub),
        period_start=_period(stripe_sub, "current_period_start"),
        period_end=_period(stripe_sub, "current_period_end"),
        cancel_at_period_end=bool(stripe_sub.get("cancel_at_period_end")),
    )
    apply_external_state(scoped, link.subscription_id, state, provider=STRIPE)
    return True


def subscription_deleted(ctx: Context, stripe_sub: Mapping[str, Any]) -> bool:
    return subscription_changed(ctx, {**stripe_sub, "status": "canceled"})


def _invoice_of(ctx: Context, stripe_invoice: Mapping[str, Any]) -> tuple[Context, Invoice] | None:
    """The Tollway invoice a Stripe invoice settles: the customer's oldest open one,
    of the linked subscription when there is one."""
    found = _customer(ctx, stripe_invoice.get("customer"))
    if found is None:
        return None
    scoped, customer = found
    invoices = open_invoices(scoped, customer.id)
    reference = stripe_invoice.get("subscription")
    link = PaymentRepository(scoped).link_by_reference(STRIPE, str(reference))
    if link is not None:
        invoices = [i for i in invoices if i.subscription_id == link.subscription_id]
    return (scoped, invoices[0]) if invoices else None


def _payment_id(stripe_invoice: Mapping[str, Any]) -> str:
    return str(stripe_invoice.get("payment_intent") or stripe_invoice.get("id"))


def invoice_paid(ctx: Context, stripe_invoice: Mapping[str, Any]) -> bool:
    found = _invoice_of(ctx, stripe_invoice)
    if found is None:
        return False
    scoped, invoice = found
    amount = int(stripe_invoice.get("amount_paid") or invoice.amount_due)
    attempt = outcomes.external_attempt(
        scoped, invoice, STRIPE, _payment_id(stripe_invoice), amount
    )
    outcomes.succeed(scoped, attempt, attempt.provider_payment_id)
    return True


def invoice_payment_failed(ctx: Context, stripe_invoice: Mapping[str, Any]) -> bool:
    found = _invoice_of(ctx, stripe_invoice)
    if found is None:
        return False
    scoped, invoice = found
    amount = int(stripe_invoice.get("amount_due") or invoice.amount_due)
    attempt = outcomes.external_attempt(
        scoped, invoice, STRIPE, _payment_id(stripe_invoice), amount
    )
    error = stripe_invoice.get("last_finalization_error") or {}
    outcomes.fail(
        scoped,
        attempt,
        error.get("code") or "invoice_payment_failed",
        error.get("message"),
        retry=False,
        next_retry_at=_at(stripe_invoice.get("next_payment_attempt")),
    )
    return True


def trial_will_end(ctx: Context, stripe_sub: Mapping[str, Any]) -> bool:
    link = PaymentRepository(ctx).link_by_reference(STRIPE, str(stripe_sub.get("id")))
    if link is None:
        return False
    scoped = outcomes.in_product(ctx, link.product_id)
    sub = get_subscription(scoped, link.subscription_id)
    record_event(
        scoped,
        SUBSCRIPTION_TRIAL_WILL_END,
        {
            **subscription_out(scoped, sub).model_dump(mode="json"),
            "has_payment_method": True,
            "provider": STRIPE,
        },
        customer_id=sub.customer_id,
        test_clock_id=sub.test_clock_id,
    )
    return True


HANDLERS: dict[str, Callable[[Context, Mapping[str, Any]], bool]] = {
    "checkout.session.completed": checkout_completed,
    "customer.subscription.created": subscription_changed,
    "customer.subscription.updated": subscription_changed,
    "customer.subscription.deleted": subscription_deleted,
    "customer.subscription.trial_will_end": trial_will_end,
    "invoice.paid": invoice_paid,
    "invoice.payment_failed": invoice_payment_failed,
}
