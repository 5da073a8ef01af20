"""What Stripe's payment events do: invoices Stripe Billing collects for a linked
subscription, and PaymentIntents Tollway created that settled later.

A Stripe invoice settles exactly one Tollway invoice, of the subscription linked to
the Stripe invoice's subscription (a provider-collected one): the Tollway invoice
named by its ``tollway_invoice_id`` metadata, or else the one whose period covers
most of what the Stripe invoice bills (its line's period, at least half of it).
The attempts recorded carry the Stripe invoice id as ``provider_payment_id``: a
later event about the same Stripe invoice finds its Tollway invoice by it.

- ``invoice.paid``: pays the invoice when Stripe collected its currency and at
  least its amount due; otherwise the payment is recorded as a ``needs_review``
  attempt (``currency_mismatch`` / ``amount_mismatch``) and the invoice stays open.
- ``invoice.payment_failed``: a failed attempt with the payment's error
  (``payment.failed`` with Stripe's own next retry; Stripe retries, Tollway does not).
- ``payment_intent.succeeded`` / ``payment_intent.payment_failed``: the pending
  attempt whose id is the intent's ``tollway_operation_id`` succeeds or fails.

An event whose subject Tollway does not know yet (no subscription link, no Tollway
invoice for the period yet) raises :class:`SubjectNotReady`: Stripe redelivers it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from tollway.invoicing import Invoice, get_invoice, subscription_invoices
from tollway.kernel.context import Context
from tollway.payments.errors import MalformedObject, SubjectNotReady
from tollway.payments.models import PaymentAttempt
from tollway.payments.repository import PaymentRepository
from tollway.payments.service import outcomes
from tollway.payments.service.stripe_objects import (
    Invoice as StripeInvoice,
)
from tollway.payments.service.stripe_objects import (
    PaymentError,
    PaymentIntent,
    at,
    parse,
)

STRIPE = "stripe"
NEEDS_REVIEW = "needs_review"
"""An attempt whose money does not settle its invoice (another currency, too little)."""


def ensure_ours(ctx: Context, customer_ref: str | None, metadata: Mapping[str, str]) -> None:
    """Raise :class:`SubjectNotReady` when the object is Tollway's (a customer it
    linked, or Tollway's metadata) though its subject is missing; return when the
    object is someone else's (the event is then ignored)."""
    known = customer_ref is not None and (
        PaymentRepository(ctx).account_by_reference(STRIPE, customer_ref) is not None
    )
    if known or any(key.startswith("tollway_") for key in metadata):
        raise SubjectNotReady("the event's subject is not linked in Tollway yet; redeliver later")


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _by_period(invoices: Sequence[Invoice], span: tuple[datetime, datetime]) -> Invoice | None:
    """The invoice whose period overlaps most of ``span`` (more than half)."""
    start, end = span[0], max(span[1], span[0] + timedelta(seconds=1))

    def overlap(invoice: Invoice) -> timedelta:
        if invoice.period_start is None or invoice.period_end is None:
            return timedelta(0)
        return min(end, _utc(invoice.period_end)) - max(start, _utc(invoice.period_start))

    best = max(invoices, key=overlap, default=None)
    return best if best is not None and overlap(best) * 2 > end - start else None


def _matched(ctx: Context, stripe_invoice: StripeInvoice) -> tuple[Context, Invoice] | None:
    """The one Tollway invoice ``stripe_invoice`` is about; ``None``: not Tollway's."""
    repo = PaymentRepository(ctx)
    known = repo.attempt_by_payment(STRIPE, stripe_invoice.id)
    if known is not None:
        scoped = outcomes.in_product(ctx, known.product_id)
        return scoped, get_invoice(scoped, known.invoice_id)
    reference = stripe_invoice.subscription_ref()
    if reference is None:
        return None  # not a subscription's: Stripe collects only linked subscriptions
    link = repo.link_by_reference(STRIPE, reference)
    if link is None:
        ensure_ours(ctx, stripe_invoice.customer, stripe_invoice.subscription_metadata())
        return None
    scoped = outcomes.in_product(ctx, link.product_id)
    candidates = [
        i for i in subscription_invoices(scoped, link.subscription_id) if i.status != "void"
    ]
    wanted = stripe_invoice.metadata.get("tollway_invoice_id")
    if wanted is not None:
        invoice = next((i for i in candidates if i.id == wanted), None)
        return (scoped, invoice) if invoice is not None else None
    span = stripe_invoice.period()
    if span is None:
        raise MalformedObject(
            "data.object.lines: no period to match a Tollway invoice by",
            field="data.object.lines",
        )
    invoice = _by_period(candidates, span)
    if invoice is None or invoice.status == "draft":
        raise SubjectNotReady(
            f"no finalized Tollway invoice for {span[0].isoformat()}..{span[1].isoformat()} "
            "yet; redeliver later"
        )
    return scoped, invoice


def _attempts_of(ctx: Context, invoice: Invoice, reference: str) -> list[PaymentAttempt]:
    attempts = PaymentRepository(ctx).attempts(invoice.id, lock=True)
    return [a for a in attempts if a.provider == STRIPE and a.provider_payment_id == reference]


def invoice_paid(ctx: Context, data: Mapping[str, Any]) -> bool:
    stripe_invoice = parse(StripeInvoice, data)
    paid = stripe_invoice.amount_paid
    if paid is None:
        raise MalformedObject("data.object.amount_paid: required", field="data.object.amount_paid")
    found = _matched(ctx, stripe_invoice)
    if found is None:
        return False
    scoped, invoice = found
    previous = _attempts_of(scoped, invoice, stripe_invoice.id)
    if any(a.status in (outcomes.SUCCEEDED, NEEDS_REVIEW) for a in previous):
        return True  # this Stripe invoice's payment is recorded already
    attempt = outcomes.external_attempt(scoped, invoice, STRIPE, stripe_invoice.id, paid)
    currency = (stripe_invoice.currency or "").upper()
    if currency == invoice.currency and paid >= invoice.amount_due:
        outcomes.succeed(scoped, attempt, stripe_invoice.id)
        return True
    attempt.status = NEEDS_REVIEW
    attempt.currency = currency[:3] or invoice.currency
    attempt.settled_at = ctx.now(invoice.test_clock_id)
    mismatch = "currency" if currency != invoice.currency else "amount"
    attempt.failure_code = f"{mismatch}_mismatch"
    attempt.failure_message = (
        f"Stripe collected {paid} {currency or '(no currency)'} for an invoice due "
        f"{invoice.amount_due} {invoice.currency}; the invoice stays open"
    )
    return True


def _error(stripe_invoice: StripeInvoice) -> PaymentError:
    """The payment's error when the event carries it, else the invoice's own."""
    intent = stripe_invoice.intent()
    if intent is not None and intent.last_payment_error is not None:
        return intent.last_payment_error
    return stripe_invoice.last_finalization_error or PaymentError()


def invoice_payment_failed(ctx: Context, data: Mapping[str, Any]) -> bool:
    stripe_invoice = parse(StripeInvoice, data)
    found = _matched(ctx, stripe_invoice)
    if found is None:
        return False
    scoped, invoice = found
    previous = _attempts_of(scoped, invoice, stripe_invoice.id)
    if any(a.status == outcomes.SUCCEEDED for a in previous):
        return True  # a late failure of a Stripe invoice already paid
    amount = stripe_invoice.amount_due
    attempt = outcomes.external_attempt(
        scoped,
        invoice,
        STRIPE,
        stripe_invoice.id,
        amount if amount is not None else invoice.amount_due,
    )
    error = _error(stripe_invoice)
    outcomes.fail(
        scoped,
        attempt,
        error.failure_code() or "invoice_payment_failed",
        error.message,
        retry=False,
        next_retry_at=at(stripe_invoice.next_payment_attempt),
    )
    return True


def _attempt_of(ctx: Context, intent: PaymentIntent) -> tuple[Context, PaymentAttempt] | None:
    """The attempt Tollway charged with this intent (its ``tollway_operation_id``)."""
    operation_id = intent.metadata.get("tollway_operation_id")
    if operation_id is None:
        return None  # not Tollway's charge (Stripe Billing's own, or another system's)
    attempt = PaymentRepository(ctx).attempt_by_id(operation_id, lock=True)
    if attempt is None or attempt.provider != STRIPE:
        return None
    return outcomes.in_product(ctx, attempt.product_id), attempt


def _settle(ctx: Context, data: Mapping[str, Any], *, succeeded: bool) -> bool:
    """Settle the attempt of the intent as the charge job would (once: a settled
    attempt is left as it is)."""
    intent = parse(PaymentIntent, data)
    found = _attempt_of(ctx, intent)
    if found is None:
        return False
    scoped, attempt = found
    if attempt.status not in (outcomes.PENDING, outcomes.PROCESSING):
        return True
    attempt.provider_payment_id = intent.id
    if succeeded:
        outcomes.succeed(scoped, attempt, intent.id)
    else:
        error = intent.last_payment_error or PaymentError()
        outcomes.fail(scoped, attempt, error.failure_code(), error.message)
    return True


def intent_succeeded(ctx: Context, data: Mapping[str, Any]) -> bool:
    return _settle(ctx, data, succeeded=True)


def intent_failed(ctx: Context, data: Mapping[str, Any]) -> bool:
    return _settle(ctx, data, succeeded=False)
