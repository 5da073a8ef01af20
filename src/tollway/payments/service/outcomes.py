"""What an attempt's outcome does: a success pays the invoice and records
``payment.succeeded``; a failure records ``payment.failed`` and schedules the next
try on the retry schedule (days after the invoice's first failure, on the
customer's clock), or says it was the last (``final``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tollway.customers import get_customer_by_id
from tollway.invoicing import Invoice, get_invoice, pay_invoice
from tollway.kernel.context import Context
from tollway.kernel.jobs import enqueue
from tollway.kernel.outbox import record_event
from tollway.payments.events import (
    PAYMENT_COLLECTED_AFTER_SETTLEMENT,
    PAYMENT_FAILED,
    PAYMENT_REFUNDED,
    PAYMENT_SUCCEEDED,
)
from tollway.payments.models import PaymentAttempt
from tollway.payments.repository import PaymentRepository
from tollway.payments.settings import payments_settings
from tollway.subscriptions import add_days

CHARGE_JOB = "payments.charge"
REFUND_JOB = "payments.refund"
CANCEL_JOB = "payments.cancel_charge"
PROCESSING, SUCCEEDED, FAILED, PENDING = "processing", "succeeded", "failed", "pending"
CANCELED = "canceled"
PAYABLE = frozenset({"open", "uncollectible"})


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None


def _data(attempt: PaymentAttempt, invoice: Invoice) -> dict[str, Any]:
    return {
        "id": attempt.id,
        "invoice_id": invoice.id,
        "invoice_number": invoice.number,
        "customer_id": attempt.customer_id,
        "external_customer_id": invoice.customer_external_id,
        "subscription_id": invoice.subscription_id,
        "amount": attempt.amount,
        "currency": attempt.currency,
        "provider": attempt.provider,
        "provider_payment_id": attempt.provider_payment_id,
        "attempt": attempt.number,
    }


def attempt_id(invoice: Invoice, number: int) -> str:
    """The id (and provider operation id) of attempt ``number`` on ``invoice``: derived,
    not drawn, so that a retry after any rollback asks the provider the same thing."""
    return f"pay_{invoice.id.removeprefix('inv_')}_{number}"


def charge_key(invoice_id: str, number: int) -> str:
    """The dedup key of the charge job of attempt ``number`` on the invoice."""
    return f"payment-charge:{invoice_id}:{number}"


def schedule_charge(ctx: Context, invoice: Invoice, number: int, at: datetime) -> None:
    """Attempt ``number`` on ``invoice`` at ``at`` on the customer's clock (once)."""
    enqueue(
        ctx,
        CHARGE_JOB,
        {"invoice_id": invoice.id, "attempt": number},
        due_at=at,
        test_clock_id=invoice.test_clock_id,
        dedup_key=charge_key(invoice.id, number),
        max_attempts=20,
    )


def schedule_cancel(ctx: Context, attempt: PaymentAttempt) -> None:
    """Ask the provider (once) to cancel the pending charge ``attempt`` made."""
    _schedule(ctx, CANCEL_JOB, attempt)


def _schedule(ctx: Context, kind: str, attempt: PaymentAttempt) -> None:
    """Job ``kind`` about ``attempt``, at once on its clock, once per attempt."""
    enqueue(
        ctx,
        kind,
        {"attempt_id": attempt.id},
        test_clock_id=attempt.test_clock_id,
        dedup_key=f"{kind}:{attempt.id}",
        max_attempts=20,
    )


def succeed(
    ctx: Context,
    attempt: PaymentAttempt,
    provider_payment_id: str | None,
    *,
    collected: int | None = None,
) -> None:
    """The attempt collected its amount: the invoice is paid. When the invoice no
    longer owes it (paid or voided meanwhile), the money is given back instead:
    ``payment.collected_after_settlement`` and a refund job. ``collected``: what the
    provider says it collected (in the attempt's currency), when it says; less than
    the attempt's amount is recorded as collected and leaves the invoice open."""
    now = ctx.now(attempt.test_clock_id)
    short = collected is not None and collected < attempt.amount
    if collected is not None:
        attempt.amount = collected
    attempt.status = SUCCEEDED
    attempt.provider_payment_id = provider_payment_id or attempt.provider_payment_id
    attempt.failure_code = attempt.failure_message = None
    attempt.settled_at = now
    attempt.next_retry_at = None
    invoice = get_invoice(ctx, attempt.invoice_id)
    if invoice.status not in PAYABLE:
        _collected_after_settlement(ctx, attempt, invoice)
        return
    if not short:
        invoice = pay_invoice(ctx, invoice.id)
        PaymentRepository(ctx).stop_retries([invoice.id], now)
    record_event(
        ctx,
        PAYMENT_SUCCEEDED,
        {**_data(attempt, invoice), "paid_at": _iso(now)},
        customer_id=attempt.customer_id,
        test_clock_id=attempt.test_clock_id,
    )


def _collected_after_settlement(ctx: Context, attempt: PaymentAttempt, invoice: Invoice) -> None:
    record_event(
        ctx,
        PAYMENT_COLLECTED_AFTER_SETTLEMENT,
        {
            **_data(attempt, invoice),
            "invoice_status": invoice.status,
            "collected_at": _iso(attempt.settled_at),
        },
        customer_id=attempt.customer_id,
        test_clock_id=attempt.test_clock_id,
    )
    _schedule(ctx, REFUND_JOB, attempt)


def refund_data(attempt: PaymentAttempt, amount_refunded: int) -> dict[str, Any]:
    """The data of ``payment.refunded`` (and ``payment.refund_failed``)."""
    return {
        "id": attempt.id,
        "invoice_id": attempt.invoice_id,
        "customer_id": attempt.customer_id,
        "amount": attempt.amount,
        "amount_refunded": amount_refunded,
        "currency": attempt.currency,
        "provider": attempt.provider,
        "provider_payment_id": attempt.provider_payment_id,
    }


def refunded(ctx: Context, attempt: PaymentAttempt, amount_refunded: int) -> None:
    """The provider refunded ``amount_refunded`` of the attempt in all (once)."""
    if attempt.amount_refunded == amount_refunded:
        return
    attempt.amount_refunded = amount_refunded
    record_event(
        ctx,
        PAYMENT_REFUNDED,
        refund_data(attempt, amount_refunded),
        customer_id=attempt.customer_id,
        test_clock_id=attempt.test_clock_id,
    )


def fail(
    ctx: Context,
    attempt: PaymentAttempt,
    code: str | None,
    message: str | None,
    *,
    retry: bool = True,
    next_retry_at: datetime | None = None,
) -> None:
    """The attempt was declined: ``payment.failed``, and the next try scheduled on
    the product's retry schedule when ``retry`` (else ``next_retry_at``, a retry the
    provider makes itself, is only reported)."""
    now = ctx.now(attempt.test_clock_id)
    if attempt.status == PENDING and attempt.provider_payment_id:
        schedule_cancel(ctx, attempt)  # an overdue boleto stays payable at the provider
    attempt.status = FAILED
    attempt.failure_code = code or "payment_failed"
    attempt.failure_message = message
    attempt.settled_at = now
    invoice = get_invoice(ctx, attempt.invoice_id)
    if retry and invoice.status == "open":
        next_retry_at = _next_retry(ctx, attempt)
        if next_retry_at is not None:
            schedule_charge(ctx, invoice, attempt.number + 1, next_retry_at)
    attempt.next_retry_at = next_retry_at
    ctx.session.flush()
    record_event(
        ctx,
        PAYMENT_FAILED,
        {
            **_data(attempt, invoice),
            "failure_code": attempt.failure_code,
            "failure_message": attempt.failure_message,
            "next_retry_at": _iso(next_retry_at),
            "final": next_retry_at is None,
        },
        customer_id=attempt.customer_id,
        test_clock_id=attempt.test_clock_id,
    )


def _next_retry(ctx: Context, attempt: PaymentAttempt) -> datetime | None:
    """``retry_days[k]`` days after the invoice's first failure, for the k-th retry."""
    days = payments_settings(ctx).retry_days
    failed = [a for a in PaymentRepository(ctx).attempts(attempt.invoice_id) if a.status == FAILED]
    retries_made = len(failed) - 1
    if retries_made >= len(days):
        return None
    first = min(a.settled_at for a in failed if a.settled_at is not None)
    zone = get_customer_by_id(ctx, attempt.customer_id).timezone
    return max(add_days(first, days[retries_made], zone), ctx.now(attempt.test_clock_id))


def external_attempt(
    ctx: Context, invoice: Invoice, provider: str, provider_payment_id: str | None, amount: int
) -> PaymentAttempt:
    """An attempt the provider made on its own (Stripe Billing collecting a
    subscription's invoice), recorded as the invoice's next attempt."""
    number = len(PaymentRepository(ctx).attempts(invoice.id, lock=True)) + 1
    attempt = PaymentAttempt(
        id=attempt_id(invoice, number),
        product_id=ctx.product_id,
        invoice_id=invoice.id,
        customer_id=invoice.customer_id,
        test_clock_id=invoice.test_clock_id,
        number=number,
        provider=provider,
        amount=amount,
        currency=invoice.currency,
        status=PROCESSING,
        provider_payment_id=provider_payment_id,
        amount_refunded=0,
        attempted_at=ctx.now(invoice.test_clock_id),
    )
    ctx.session.add(attempt)
    ctx.session.flush()
    return attempt


def in_product(ctx: Context, product_id: str) -> Context:
    """``ctx`` acting in ``product_id`` (an inbound webhook's subject's product)."""
    return Context(session=ctx.session, product_id=product_id, clock=ctx.clock, actor=ctx.actor)
