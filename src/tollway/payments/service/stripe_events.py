"""What Stripe's subscription events do (the object of each is ``data``).

- ``checkout.session.completed``: links the customer to its Stripe customer and
  the Stripe subscription to the customer's Tollway subscription (created from the
  checkout's plan when it has none); a second checkout moves the link to the newest
  Stripe subscription.
- ``customer.subscription.created|updated|deleted``: mirrors status, plan (by the
  price's ``stripe_price_id``), period and ``cancel_at_period_end`` onto the
  linked subscription; a status Tollway does not know leaves the status as it is.
- ``customer.subscription.trial_will_end``: ``subscription.trial_will_end``.
- ``invoice.*`` and ``payment_intent.*``: :mod:`stripe_payments`.

Objects are parsed by :mod:`stripe_objects` (a malformed one is a 400). A subject
Tollway does not know yet raises :class:`SubjectNotReady` (409: Stripe redelivers).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from tollway.catalog import list_plans
from tollway.customers import Customer, get_customer_by_id
from tollway.kernel.context import Context
from tollway.kernel.ids import new_id
from tollway.kernel.outbox import record_event
from tollway.kernel.pagination import MAX_LIMIT, PageRequest
from tollway.payments.errors import MalformedObject
from tollway.payments.models import ProviderSubscription
from tollway.payments.repository import PaymentRepository
from tollway.payments.service import outcomes, stripe_payments
from tollway.payments.service.stripe_objects import (
    CheckoutSession,
    Subscription,
    parse,
)
from tollway.payments.service.stripe_payments import STRIPE, ensure_ours
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

log = logging.getLogger(__name__)
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


def _customer(ctx: Context, stripe_customer: str | None) -> tuple[Context, Customer] | None:
    """The Tollway customer (and a context in its product) of a ``cus_...``."""
    if stripe_customer is None:
        return None
    account = PaymentRepository(ctx).account_by_reference(STRIPE, stripe_customer)
    if account is None:
        return None
    scoped = outcomes.in_product(ctx, account.product_id)
    return scoped, get_customer_by_id(scoped, account.customer_id)


def _link(
    ctx: Context, subscription_id: str, reference: str, *, move: bool
) -> ProviderSubscription | None:
    """Link the Tollway subscription to Stripe's ``reference``. One already linked to
    another Stripe subscription follows the new one when ``move`` (a new checkout),
    else stays (``None``). A reference already linked keeps its link."""
    repo = PaymentRepository(ctx)
    existing = repo.link_by_reference(STRIPE, reference)
    if existing is not None:
        return existing
    current = repo.link(subscription_id)
    if current is not None:
        if not move:
            return None
        log.info("%s now follows %s (was %s)", subscription_id, reference, current.reference)
        current.reference = reference
        ctx.session.flush()
        return current
    row = ProviderSubscription(
        id=new_id("psub"),
        product_id=ctx.product_id,
        subscription_id=subscription_id,
        provider=STRIPE,
        reference=reference,
        created_at=ctx.now(),
    )
    return row if repo.insert_once(row) else repo.link_by_reference(STRIPE, reference)


def checkout_completed(ctx: Context, data: Mapping[str, Any]) -> bool:
    session = parse(CheckoutSession, data)
    if session.customer is None:
        return False
    account = PaymentRepository(ctx).account_by_reference(STRIPE, session.customer)
    customer_id = session.client_reference_id or session.metadata.get("tollway_customer_id")
    if account is None or account.customer_id != customer_id:
        return False
    scoped = outcomes.in_product(ctx, account.product_id)
    if session.subscription is None:
        return True  # a one-off payment checkout: the customer link is all there is
    sub = current_subscription(scoped, account.customer_id)
    if sub is None:
        plan_id = session.metadata.get("tollway_plan_id")
        if plan_id is None:
            field = "data.object.metadata.tollway_plan_id"
            raise MalformedObject(f"{field}: required to start a subscription", field=field)
        customer = get_customer_by_id(scoped, account.customer_id)
        sub = create_subscription(
            scoped,
            SubscriptionCreate(
                customer_id=customer.external_id,
                plan_id=plan_id,
                billing_cycle=session.metadata.get("tollway_billing_cycle", "monthly"),
                trial_days=0,
                payment_method_id=f"stripe:{session.subscription}",
            ),
        )
    _link(scoped, sub.id, session.subscription, move=True)
    return True


def _plan_of(ctx: Context, stripe_sub: Subscription) -> str | None:
    price_id = stripe_sub.price_id()
    if price_id is None:
        return None
    plans = list_plans(ctx, PageRequest(limit=MAX_LIMIT)).data
    return next(
        (p.code for p in plans for spec in p.prices if spec.get("stripe_price_id") == price_id),
        None,
    )


def _linked(ctx: Context, stripe_sub: Subscription) -> ProviderSubscription | None:
    """The link of ``stripe_sub``; an unlinked one of a known customer is linked to the
    customer's unlinked live subscription. ``None``: not Tollway's, or ended."""
    link = PaymentRepository(ctx).link_by_reference(STRIPE, stripe_sub.id)
    if link is not None:
        return link
    found = _customer(ctx, stripe_sub.customer)
    if found is not None:
        scoped, customer = found
        sub = current_subscription(scoped, customer.id)
        if sub is not None:
            link = _link(scoped, sub.id, stripe_sub.id, move=False)
    if link is None and stripe_sub.status not in ("canceled", "incomplete_expired"):
        ensure_ours(ctx, stripe_sub.customer, stripe_sub.metadata)
    return link


def _mirror(ctx: Context, stripe_sub: Subscription, status: str | None) -> bool:
    link = _linked(ctx, stripe_sub)
    if link is None:
        return False
    scoped = outcomes.in_product(ctx, link.product_id)
    mapped = _STATUSES.get(status or "")
    if mapped is None:
        log.warning(
            "Stripe subscription %s has status %r, unknown to Tollway: status left as it is",
            stripe_sub.id,
            status,
        )
        mapped = get_subscription(scoped, link.subscription_id).status
    period_start, period_end = stripe_sub.period()
    state = ExternalState(
        status=mapped,
        plan_code=_plan_of(scoped, stripe_sub),
        period_start=period_start,
        period_end=period_end,
        cancel_at_period_end=stripe_sub.cancel_at_period_end,
    )
    apply_external_state(scoped, link.subscription_id, state, provider=STRIPE)
    return True


def subscription_changed(ctx: Context, data: Mapping[str, Any]) -> bool:
    stripe_sub = parse(Subscription, data)
    return _mirror(ctx, stripe_sub, stripe_sub.status)


def subscription_deleted(ctx: Context, data: Mapping[str, Any]) -> bool:
    stripe_sub = parse(Subscription, data)
    return _mirror(ctx, stripe_sub, "canceled")


def trial_will_end(ctx: Context, data: Mapping[str, Any]) -> bool:
    link = _linked(ctx, parse(Subscription, data))
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
    "invoice.paid": stripe_payments.invoice_paid,
    "invoice.payment_failed": stripe_payments.invoice_payment_failed,
    "payment_intent.succeeded": stripe_payments.intent_succeeded,
    "payment_intent.payment_failed": stripe_payments.intent_failed,
}
